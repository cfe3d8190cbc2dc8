-- set_next_presence: an agent chooses a presence for when its work ends (away with a reason,
-- or offline); "" takes the choice back. It is kept only while the agent holds a contact it
-- is connected to or wrapping up; meanwhile it takes no new offer (claim.lua), and when the
-- last such contact leaves it, take_next_presence applies it. With no such contact it is
-- not kept: the caller sets the presence at once.
-- KEYS[1] agent hash  KEYS[2] agent work hash  KEYS[3] agent changes  KEYS[4] events
-- ARGV[1] agent id  ARGV[2] presence ("away", "offline" or "")  ARGV[3] reason  ARGV[4] now
-- Returns {"ok", "later" | "now" | "cleared"} or {"refused", "no_agent"}.
local agent_key, work_key, agent_changes_key, events_key = unpack(KEYS, 1, 4)
local agent_id, presence, reason, now = unpack(ARGV, 1, 4)
if redis.call('EXISTS', agent_key) == 0 then return {'refused', 'no_agent'} end
if presence == '' then
  redis.call('HDEL', agent_key, 'next_presence', 'next_reason')
  touch(agent_changes_key, agent_id)
  emit(events_key, 'agent_next_presence', now, 'agent', agent_id, 'presence', '', 'reason', '')
  return {'ok', 'cleared'}
end
local busy = false
for _, entry in ipairs(redis.call('HVALS', work_key)) do
  local state = parse_work(entry)
  if state == 'connected' or state == 'wrap_up' then busy = true end
end
if not busy then return {'ok', 'now'} end
redis.call('HSET', agent_key, 'next_presence', presence, 'next_reason', reason)
touch(agent_changes_key, agent_id)
emit(events_key, 'agent_next_presence', now, 'agent', agent_id, 'presence', presence,
  'reason', reason)
return {'ok', 'later'}
