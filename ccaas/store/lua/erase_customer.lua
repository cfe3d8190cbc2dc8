-- erase_customer: remove a customer's personal data and identities for good. The profile
-- becomes a tombstone with anonymous counts; each of the customer's contacts loses the
-- customer's details, the collected context, the notes and the channel's own id, and is
-- marked erased_at: from then on it takes no new personal data (complete, attach_body).
-- KEYS[1] identity index  KEYS[2] external-ids hash  KEYS[3] customer hash
-- KEYS[4] customer identities set  KEYS[5] customer timeline  KEYS[6] events
-- KEYS[7] erasures pending counter (the rewrite of the files on disk reads it)
-- then KEYS[8..]: for every contact on the timeline (as the caller read it), its hash and
--   its body key, in pairs
-- ARGV[1] customer id  ARGV[2] now (ms)
-- Returns {"ok", contacts scrubbed} or {"refused", reason} ("changed": read again).
local index_key, external_ids_key, customer_key, identities_key, timeline_key, events_key,
  erasures_key = unpack(KEYS, 1, 7)
local HEAD_KEYS = 7
local customer_id, now = unpack(ARGV, 1, 2)
local status = customer_status(customer_key)
if status == 'missing' then return {'refused', 'no_customer'} end
if status == 'erased' then return {'refused', 'erased'} end
if status == 'merged' then return {'refused', 'merged'} end
if redis.call('ZCARD', timeline_key) ~= (#KEYS - HEAD_KEYS) / 2 then
  return {'refused', 'changed'}
end
for _, identity in ipairs(redis.call('SMEMBERS', identities_key)) do
  redis.call('HDEL', index_key, identity)
end
for i = HEAD_KEYS + 1, #KEYS, 2 do
  local contact_key, body_key = KEYS[i], KEYS[i + 1]
  local channel, external_id = unpack(redis.call('HMGET', contact_key, 'channel',
    'external_id'))
  if channel and external_id then
    redis.call('HDEL', external_ids_key, channel .. ':' .. external_id)
  end
  redis.call('HDEL', contact_key, 'customer', 'attributes', 'notes', 'external_id',
    'preferred_note', 'body_bytes', 'body_kind')
  redis.call('DEL', body_key)
  redis.call('HSET', contact_key, 'erased_at', now)
end
local contacts = redis.call('ZCARD', timeline_key)
redis.call('DEL', customer_key, identities_key, timeline_key)
redis.call('HSET', customer_key, 'id', customer_id, 'erased_at', now, 'contacts', contacts)
redis.call('INCR', erasures_key)
emit(events_key, 'customer_erased', now, 'customer', customer_id, 'contacts', contacts)
return {'ok', contacts}
