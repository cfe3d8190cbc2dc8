-- end_wrap_up: wrap-up of a contact ends (its time is up, or the agent says done); the contact
-- is completed, its slot freed, and an agent with no wrap-up left is available again.
-- KEYS[1] contact hash  KEYS[2] agent hash  KEYS[3] agent work hash  KEYS[4] wrap-up deadlines
-- KEYS[5] agents available set  KEYS[6] agent changes  KEYS[7] events  KEYS[8] wake flag
-- ARGV[1] contact id  ARGV[2] now (ms)  ARGV[3] "due" (only if its time is up) | "done"
-- ARGV[4] wake channel  ARGV[5] agent id the caller read (KEYS are its)
-- Returns {"ok", agent presence after} or {"refused", reason}.
local contact = redis.call('HMGET', KEYS[1], 'state', 'agent_id', 'channel', 'queue',
  'wrap_up_until')
if contact[1] ~= 'wrap_up' then return {'refused', 'not_in_wrap_up'} end
if contact[2] ~= ARGV[5] then return {'refused', 'stale_agent'} end
if ARGV[3] == 'due' and tonumber(ARGV[2]) < tonumber(contact[5]) then
  return {'refused', 'wrap_up_not_due'}
end
local agent_id = contact[2]
redis.call('HSET', KEYS[1], 'state', 'completed', 'completed_at', ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[1])
release(KEYS[3], KEYS[2], ARGV[1], ARGV[2])
emit(KEYS[7], 'contact_completed', ARGV[2], 'contact', ARGV[1], 'agent', agent_id,
  'queue', contact[4], 'channel', contact[3])
local presence = redis.call('HGET', KEYS[2], 'presence')
if presence == 'wrap_up' then
  local still = false
  for _, entry in ipairs(redis.call('HVALS', KEYS[3])) do
    if string.sub(entry, 1, 8) == 'wrap_up:' then still = true end
  end
  if not still then
    presence = 'available'
    redis.call('HSET', KEYS[2], 'presence', 'available', 'idle_since', ARGV[2])
    redis.call('SADD', KEYS[5], agent_id)
    emit(KEYS[7], 'agent_presence', ARGV[2], 'agent', agent_id, 'presence', 'available')
  end
end
touch(KEYS[6], agent_id)
wake(KEYS[8], ARGV[4])
return {'ok', presence}
