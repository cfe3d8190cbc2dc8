-- enqueue: a new contact starts waiting, or an already known one (same channel + external id)
-- is returned unchanged.
-- KEYS[1] contact hash        KEYS[2] external-ids hash   KEYS[3] queue waiting zset
-- KEYS[4] queue arrivals zset KEYS[5] events stream       KEYS[6] wake flag
-- ARGV[1] contact id  ARGV[2] "channel:external_id"  ARGV[3] now (ms)  ARGV[4] order score
-- ARGV[5] JSON object of the contact's other fields   ARGV[6] wake channel
-- Returns {1, contact id, 1-based position} when created, {0, existing contact id} when known.
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then return {0, existing} end
local fields = cjson.decode(ARGV[5])
local args = {'id', ARGV[1], 'state', 'queued', 'score', ARGV[4], 'first_enqueued_at', ARGV[3],
  'enqueued_at', ARGV[3], 'created_at', ARGV[3], 'offer_count', 0}
for name, value in pairs(fields) do
  args[#args + 1] = name
  args[#args + 1] = value
end
redis.call('HSET', KEYS[1], unpack(args))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
emit(KEYS[5], 'contact_queued', ARGV[3], 'contact', ARGV[1], 'queue', fields['queue'],
  'channel', fields['channel'])
wake(KEYS[6], ARGV[6])
return {1, ARGV[1], redis.call('ZRANK', KEYS[3], ARGV[1]) + 1}
