-- end_wrap_up: wrap-up of a contact ends (its time is up, or the agent says done); the contact
-- is completed, its slot freed, and an agent with no wrap-up left is available again, or
-- takes the presence it chose for when its work ends (see take_next_presence).
-- KEYS[1] contact hash  KEYS[2] agent hash  KEYS[3] agent work hash  KEYS[4] wrap-up deadlines
-- KEYS[5] agents available set  KEYS[6] agent changes  KEYS[7] events  KEYS[8] wake flag
-- ARGV[1] contact id  ARGV[2] now (ms)  ARGV[3] "due" (only if its time is up) | "done"
-- ARGV[4] wake channel  ARGV[5] agent id the caller read (KEYS are its)
-- Returns {"ok", agent presence after} or {"refused", reason}.
local contact_key, agent_key, work_key, wrap_up_deadlines_key, available_key,
  agent_changes_key, events_key, wake_key = unpack(KEYS, 1, 8)
local contact_id, now, mode, wake_channel, caller_agent = unpack(ARGV, 1, 5)
local state, agent_id, channel, queue, wrap_up_until = unpack(redis.call('HMGET', contact_key,
  'state', 'agent_id', 'channel', 'queue', 'wrap_up_until'))
if state ~= 'wrap_up' then return {'refused', 'not_in_wrap_up'} end
if agent_id ~= caller_agent then return {'refused', 'stale_agent'} end
if mode == 'due' and tonumber(now) < tonumber(wrap_up_until) then
  return {'refused', 'wrap_up_not_due'}
end
redis.call('HSET', contact_key, 'state', 'completed', 'completed_at', now)
redis.call('ZREM', wrap_up_deadlines_key, contact_id)
release(work_key, agent_key, contact_id, now)
emit(events_key, 'contact_completed', now, 'contact', contact_id, 'agent', agent_id,
  'queue', queue, 'channel', channel)
local presence = take_next_presence(agent_key, work_key, available_key, events_key, agent_id,
  now) or redis.call('HGET', agent_key, 'presence')
if presence == 'wrap_up' then
  local still = false
  for _, entry in ipairs(redis.call('HVALS', work_key)) do
    if parse_work(entry) == 'wrap_up' then still = true end
  end
  if not still then
    presence = 'available'
    redis.call('HSET', agent_key, 'presence', 'available', 'idle_since', now)
    redis.call('SADD', available_key, agent_id)
    emit(events_key, 'agent_presence', now, 'agent', agent_id, 'presence', 'available')
  end
end
touch(agent_changes_key, agent_id)
wake(wake_key, wake_channel)
return {'ok', presence}
