-- requeue_offer: an offer ends without acceptance (rejected, rang out, or withdrawn because the
-- agent left); the contact waits again in its old place (its original score and arrival time).
-- A ring-out counts as a missed offer; after ARGV[6] in a row the agent is set away("no answer").
-- KEYS[1] contact hash  KEYS[2] queue waiting zset  KEYS[3] queue arrivals zset
-- KEYS[4] agent hash    KEYS[5] agent work hash     KEYS[6] offer deadlines zset
-- KEYS[7] agents available set  KEYS[8] agent changes  KEYS[9] events  KEYS[10] wake flag
-- ARGV[1] offer id  ARGV[2] contact id  ARGV[3] agent id  ARGV[4] now (ms)
-- ARGV[5] why: "rejected" | "timed_out" | "withdrawn"   ARGV[6] missed offers before away
-- ARGV[7] wake channel
-- Returns {"ok", agent presence after} or {"refused", reason}.
local contact = redis.call('HMGET', KEYS[1], 'state', 'offer_id', 'agent_id', 'score',
  'first_enqueued_at', 'offer_expires_at', 'queue', 'channel')
if contact[1] ~= 'offered' or contact[2] ~= ARGV[1] or contact[3] ~= ARGV[3] then
  return {'refused', 'offer_not_pending'}
end
if ARGV[5] == 'timed_out' and tonumber(ARGV[4]) < tonumber(contact[6]) then
  return {'refused', 'offer_not_due'}
end
redis.call('HSET', KEYS[1], 'state', 'queued', 'agent_id', '', 'offer_id', '',
  'enqueued_at', ARGV[4])
redis.call('ZADD', KEYS[2], contact[4], ARGV[2])
redis.call('ZADD', KEYS[3], contact[5], ARGV[2])
redis.call('ZREM', KEYS[6], ARGV[1])
release(KEYS[5], KEYS[4], ARGV[2], ARGV[4])
emit(KEYS[9], 'offer_' .. ARGV[5], ARGV[4], 'contact', ARGV[2], 'agent', ARGV[3],
  'queue', contact[7], 'channel', contact[8], 'offer', ARGV[1])
local presence = redis.call('HGET', KEYS[4], 'presence')
if ARGV[5] == 'timed_out' then
  local missed = redis.call('HINCRBY', KEYS[4], 'missed', 1)
  if missed >= tonumber(ARGV[6]) and presence == 'available' then
    presence = 'away'
    redis.call('HSET', KEYS[4], 'presence', 'away', 'away_reason', 'no answer')
    redis.call('SREM', KEYS[7], ARGV[3])
    emit(KEYS[9], 'agent_presence', ARGV[4], 'agent', ARGV[3], 'presence', 'away',
      'reason', 'no answer')
  end
end
touch(KEYS[8], ARGV[3])
wake(KEYS[10], ARGV[7])
return {'ok', presence}
