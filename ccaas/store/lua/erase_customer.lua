-- erase_customer: remove a customer's personal data and identities for good. The profile
-- becomes a tombstone with anonymous counts; each of the customer's contacts loses the
-- customer's details, the collected context, the notes and the channel's own id.
-- KEYS[1] identity index  KEYS[2] external-ids hash  KEYS[3] customer hash
-- KEYS[4] customer identities set  KEYS[5] customer timeline  KEYS[6] events
-- then KEYS[7..]: for every contact on the timeline (as the caller read it), its hash and
--   its body key, in pairs
-- ARGV[1] customer id  ARGV[2] now (ms)
-- Returns {"ok", contacts scrubbed} or {"refused", reason} ("changed": read again).
if redis.call('EXISTS', KEYS[3]) == 0 then return {'refused', 'no_customer'} end
if redis.call('HEXISTS', KEYS[3], 'erased_at') == 1 then return {'refused', 'erased'} end
if redis.call('HEXISTS', KEYS[3], 'merged_into') == 1 then return {'refused', 'merged'} end
if redis.call('ZCARD', KEYS[5]) ~= (#KEYS - 6) / 2 then return {'refused', 'changed'} end
for _, identity in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  redis.call('HDEL', KEYS[1], identity)
end
for i = 7, #KEYS, 2 do
  local c = redis.call('HMGET', KEYS[i], 'channel', 'external_id')
  if c[1] and c[2] then redis.call('HDEL', KEYS[2], c[1] .. ':' .. c[2]) end
  redis.call('HDEL', KEYS[i], 'customer', 'attributes', 'notes', 'external_id', 'preferred_note',
    'body_bytes', 'body_kind')
  redis.call('DEL', KEYS[i + 1])
end
local contacts = redis.call('ZCARD', KEYS[5])
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[3], 'id', ARGV[1], 'erased_at', ARGV[2], 'contacts', contacts)
emit(KEYS[6], 'customer_erased', ARGV[2], 'customer', ARGV[1], 'contacts', contacts)
return {'ok', contacts}
