-- complete: the agent finishes handling a connected contact. With wrap-up time the contact
-- enters wrap-up (its slot stays held, an available agent shows wrap_up); without, it is done.
-- KEYS[1] contact hash  KEYS[2] agent hash  KEYS[3] agent work hash  KEYS[4] wrap-up deadlines
-- KEYS[5] agents available set  KEYS[6] agent changes  KEYS[7] events  KEYS[8] wake flag
-- ARGV[1] contact id  ARGV[2] now (ms)  ARGV[3] wrap-up (ms)  ARGV[4] disposition
-- ARGV[5] notes  ARGV[6] wake channel  ARGV[7] agent id the caller read (KEYS are its)
-- Returns {"ok", contact state after} or {"refused", reason}.
local contact = redis.call('HMGET', KEYS[1], 'state', 'agent_id', 'channel', 'queue')
if contact[1] ~= 'connected' then return {'refused', 'not_connected'} end
if contact[2] ~= ARGV[7] then return {'refused', 'stale_agent'} end
local agent_id = contact[2]
redis.call('HSET', KEYS[1], 'disposition', ARGV[4], 'notes', ARGV[5], 'handled_at', ARGV[2])
emit(KEYS[7], 'contact_handled', ARGV[2], 'contact', ARGV[1], 'agent', agent_id,
  'queue', contact[4], 'channel', contact[3], 'disposition', ARGV[4])
local wrap_up = tonumber(ARGV[3])
if wrap_up > 0 then
  local until_ms = tonumber(ARGV[2]) + wrap_up
  redis.call('HSET', KEYS[1], 'state', 'wrap_up', 'wrap_up_until', until_ms)
  redis.call('HSET', KEYS[3], ARGV[1], 'wrap_up:' .. contact[3])
  redis.call('ZADD', KEYS[4], until_ms, ARGV[1])
  if redis.call('HGET', KEYS[2], 'presence') == 'available' then
    redis.call('HSET', KEYS[2], 'presence', 'wrap_up')
    redis.call('SREM', KEYS[5], agent_id)
    emit(KEYS[7], 'agent_presence', ARGV[2], 'agent', agent_id, 'presence', 'wrap_up')
  end
  touch(KEYS[6], agent_id)
  return {'ok', 'wrap_up'}
end
redis.call('HSET', KEYS[1], 'state', 'completed', 'completed_at', ARGV[2])
release(KEYS[3], KEYS[2], ARGV[1], ARGV[2])
emit(KEYS[7], 'contact_completed', ARGV[2], 'contact', ARGV[1], 'agent', agent_id,
  'queue', contact[4], 'channel', contact[3])
touch(KEYS[6], agent_id)
wake(KEYS[8], ARGV[6])
return {'ok', 'completed'}
