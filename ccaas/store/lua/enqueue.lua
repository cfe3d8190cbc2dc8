-- enqueue: new contacts start waiting; a contact already known by its channel + external id
-- is returned unchanged, and a queue at its max size takes no more. Takes a batch; each
-- contact is handled on its own.
-- KEYS[1] external-ids hash  KEYS[2] events stream  KEYS[3] wake flag
-- KEYS[4] rules active version
-- then for contact i = 0..n-1, KEYS[5+5i .. 9+5i]: contact hash, queue waiting zset,
--   queue arrivals zset, the customer's timeline zset and hash (used when the fields name a
--   customer_id: a customer erased or merged meanwhile refuses the contact with -3, "")
-- ARGV[1] now (ms)  ARGV[2] wake channel  ARGV[3] rules version the contacts were classified by
-- then for contact i, ARGV[4+5i .. 8+5i]: contact id, "channel:external_id", order score,
--   JSON object of the contact's other fields, the queue's max size (0: no limit)
-- Returns a flat list, two entries per contact: 1 and the new contact id (created), 0 and
-- the existing id (known), or -1 and "" (the queue is full: nothing was written); or just
-- {-2, "rules_changed"} when other rules are in force now (nothing was written).
if (redis.call('GET', KEYS[4]) or '0') ~= ARGV[3] then return {-2, 'rules_changed'} end
local now = ARGV[1]
local out = {}
local created = false
for i = 0, (#ARGV - 3) / 5 - 1 do
  local k, a = 5 + 5 * i, 4 + 5 * i
  local id, external, score = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local max_size = tonumber(ARGV[a + 4])
  local existing = redis.call('HGET', KEYS[1], external)
  if existing then
    out[#out + 1] = 0
    out[#out + 1] = existing
  elseif max_size > 0 and redis.call('ZCARD', KEYS[k + 1]) >= max_size then
    out[#out + 1] = -1
    out[#out + 1] = ''
  elseif string.find(ARGV[a + 3], '"customer_id"', 1, true)
      and (redis.call('HEXISTS', KEYS[k + 4], 'erased_at') == 1
        or redis.call('HEXISTS', KEYS[k + 4], 'merged_into') == 1) then
    out[#out + 1] = -3
    out[#out + 1] = ''
  else
    local fields = cjson.decode(ARGV[a + 3])
    local args = {'id', id, 'state', 'queued', 'score', score, 'first_enqueued_at', now,
      'enqueued_at', now, 'queue_since', now, 'created_at', now, 'offer_count', 0}
    for name, value in pairs(fields) do
      args[#args + 1] = name
      args[#args + 1] = value
    end
    redis.call('HSET', KEYS[k], unpack(args))
    redis.call('HSET', KEYS[1], external, id)
    redis.call('ZADD', KEYS[k + 1], score, id)
    redis.call('ZADD', KEYS[k + 2], now, id)
    if fields['customer_id'] then redis.call('ZADD', KEYS[k + 3], now, id) end
    emit(KEYS[2], 'contact_queued', now, 'contact', id, 'queue', fields['queue'],
      'channel', fields['channel'], 'rule', fields['rule'] or '')
    created = true
    out[#out + 1] = 1
    out[#out + 1] = id
  end
end
if created then wake(KEYS[3], ARGV[2]) end
return out
