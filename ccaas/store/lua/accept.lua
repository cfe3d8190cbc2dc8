-- accept: the agent takes the offered contact; the contact is connected.
-- KEYS[1] contact hash  KEYS[2] agent hash  KEYS[3] agent work hash  KEYS[4] offer deadlines
-- KEYS[5] agent changes zset               KEYS[6] events stream
-- KEYS[7] the contact's customer hash (its last_agent becomes this agent; "-" if none)
-- ARGV[1] offer id  ARGV[2] contact id  ARGV[3] agent id  ARGV[4] now (ms)
-- Returns {"ok"} or {"refused", reason}.
local contact = redis.call('HMGET', KEYS[1], 'state', 'offer_id', 'agent_id', 'channel', 'queue')
if contact[1] ~= 'offered' or contact[2] ~= ARGV[1] then return {'refused', 'offer_not_pending'} end
if contact[3] ~= ARGV[3] then return {'refused', 'offer_not_pending'} end
redis.call('HSET', KEYS[1], 'state', 'connected', 'connected_at', ARGV[4])
redis.call('HSET', KEYS[3], ARGV[2], 'connected:' .. contact[4])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[2], 'missed', 0)
if redis.call('EXISTS', KEYS[7]) == 1 and redis.call('HEXISTS', KEYS[7], 'erased_at') == 0
    and redis.call('HEXISTS', KEYS[7], 'merged_into') == 0 then
  redis.call('HSET', KEYS[7], 'last_agent', ARGV[3])
end
touch(KEYS[5], ARGV[3])
emit(KEYS[6], 'contact_connected', ARGV[4], 'contact', ARGV[2], 'agent', ARGV[3],
  'queue', contact[5], 'channel', contact[4], 'offer', ARGV[1])
return {'ok'}
