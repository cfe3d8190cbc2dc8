-- complete: the agent finishes handling a connected contact. With wrap-up time the contact
-- enters wrap-up (its slot stays held, an available agent shows wrap_up); without, it is done.
-- Only the agent holding the contact can complete it. Completing again with the same
-- disposition and notes changes nothing and answers ok, so a lost answer can be retried.
-- A contact whose customer was erased (it has erased_at) takes no new personal data: it is
-- completed all the same (the agent is freed) but the notes are not stored. An agent left
-- with no work takes the presence it chose for then (see take_next_presence).
-- KEYS[1] contact hash  KEYS[2] agent hash  KEYS[3] agent work hash  KEYS[4] wrap-up deadlines
-- KEYS[5] agents available set  KEYS[6] agent changes  KEYS[7] events  KEYS[8] wake flag
-- ARGV[1] contact id  ARGV[2] now (ms)  ARGV[3] wrap-up (ms)  ARGV[4] disposition
-- ARGV[5] notes  ARGV[6] wake channel  ARGV[7] the acting agent (KEYS are its)
-- Returns {"ok", contact state after, 1 if notes were given and not stored else 0}
-- or {"refused", "not_connected" | "not_yours"}.
local contact_key, agent_key, work_key, wrap_up_deadlines_key, available_key,
  agent_changes_key, events_key, wake_key = unpack(KEYS, 1, 8)
local contact_id, now, wrap_up_ms, disposition, notes, wake_channel, caller_agent =
  unpack(ARGV, 1, 7)
local state, agent_id, channel, queue, done_disposition, done_notes, erased =
  unpack(redis.call('HMGET', contact_key, 'state', 'agent_id', 'channel', 'queue',
    'disposition', 'notes', 'erased_at'))
local discarded = 0
if erased and notes ~= '' then discarded = 1 end
if agent_id ~= caller_agent then
  return {'refused', state == 'connected' and 'not_yours' or 'not_connected'}
end
-- notes that are gone were erased with the customer: the disposition alone says it is a retry
if (state == 'wrap_up' or state == 'completed') and done_disposition == disposition
    and (not done_notes or done_notes == notes) then
  return {'ok', state, discarded}
end
if state ~= 'connected' then return {'refused', 'not_connected'} end
redis.call('HSET', contact_key, 'disposition', disposition, 'handled_at', now)
if not erased then redis.call('HSET', contact_key, 'notes', notes) end
emit(events_key, 'contact_handled', now, 'contact', contact_id, 'agent', agent_id,
  'queue', queue, 'channel', channel, 'disposition', disposition)
local wrap_up = tonumber(wrap_up_ms)
if wrap_up > 0 then
  local until_ms = tonumber(now) + wrap_up
  redis.call('HSET', contact_key, 'state', 'wrap_up', 'wrap_up_until', until_ms)
  redis.call('HSET', work_key, contact_id, work_entry('wrap_up', channel))
  redis.call('ZADD', wrap_up_deadlines_key, until_ms, contact_id)
  if redis.call('HGET', agent_key, 'presence') == 'available' then
    redis.call('HSET', agent_key, 'presence', 'wrap_up')
    redis.call('SREM', available_key, agent_id)
    emit(events_key, 'agent_presence', now, 'agent', agent_id, 'presence', 'wrap_up')
  end
  touch(agent_changes_key, agent_id)
  return {'ok', 'wrap_up', discarded}
end
redis.call('HSET', contact_key, 'state', 'completed', 'completed_at', now)
release(work_key, agent_key, contact_id, now)
emit(events_key, 'contact_completed', now, 'contact', contact_id, 'agent', agent_id,
  'queue', queue, 'channel', channel)
take_next_presence(agent_key, work_key, available_key, events_key, agent_id, now)
touch(agent_changes_key, agent_id)
wake(wake_key, wake_channel)
return {'ok', 'completed', discarded}
