-- abandon: the customer leaves while waiting or ringing; an open offer is withdrawn.
-- KEYS[1] contact hash  KEYS[2] queue waiting zset  KEYS[3] queue arrivals zset
-- KEYS[4] agent hash    KEYS[5] agent work hash     KEYS[6] offer deadlines zset
-- KEYS[7] agent changes  KEYS[8] events  KEYS[9] wake flag
-- ARGV[1] contact id  ARGV[2] agent id the caller read ("" if none)  ARGV[3] now (ms)
-- ARGV[4] wake channel  ARGV[5] the queue the caller read (its zsets are KEYS[2], KEYS[3])
-- Returns {"ok", state before} or {"refused", reason}; "stale_agent" and "stale_queue" mean
-- the contact moved since the caller read it (read again and retry).
local contact = redis.call('HMGET', KEYS[1], 'state', 'agent_id', 'offer_id', 'queue', 'channel')
local state = contact[1]
if state ~= 'queued' and state ~= 'offered' then return {'refused', 'not_waiting'} end
if contact[4] ~= ARGV[5] then return {'refused', 'stale_queue'} end
if state == 'offered' then
  if contact[2] ~= ARGV[2] then return {'refused', 'stale_agent'} end
  redis.call('ZREM', KEYS[6], contact[3])
  release(KEYS[5], KEYS[4], ARGV[1], ARGV[3])
  touch(KEYS[7], ARGV[2])
  wake(KEYS[9], ARGV[4])
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'abandoned', 'abandoned_at', ARGV[3], 'offer_id', '')
emit(KEYS[8], 'contact_abandoned', ARGV[3], 'contact', ARGV[1], 'agent', contact[2] or '',
  'queue', contact[4], 'channel', contact[5], 'was', state)
return {'ok', state}
