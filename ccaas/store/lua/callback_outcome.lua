-- callback_outcome: the agent who called a callback's customer back says how it went. Each
-- report counts an attempt. "no_answer" or "busy" with attempts left schedules the callback
-- again: it leaves the agent (freed) and waits out of the queue until ARGV[5], keeping its
-- score, so when it is due it is back in its place. Otherwise ("reached", "invalid", or no
-- attempt left) the outcome is recorded and the contact stays the agent's to complete.
-- KEYS[1] contact hash  KEYS[2] agent hash  KEYS[3] agent work hash  KEYS[4] callbacks due
-- zset  KEYS[5] agent changes zset  KEYS[6] events  KEYS[7] agents available set
-- ARGV[1] contact id  ARGV[2] agent id  ARGV[3] outcome: reached | no_answer | busy |
--   invalid  ARGV[4] now (ms)  ARGV[5] when a retry would be due (ms)  ARGV[6] most attempts
-- Returns {"ok", "scheduled" | "recorded", attempts} or {"refused", reason}: "not_connected"
-- (not connected to this agent), "not_a_callback".
local contact_key, agent_key, work_key, due_key, agent_changes_key, events_key,
  available_key = unpack(KEYS, 1, 7)
local contact_id, agent_id, outcome, now, retry_at, most_attempts = unpack(ARGV, 1, 6)
local state, holder, number, attempts, queue, channel = unpack(redis.call('HMGET',
  contact_key, 'state', 'agent_id', 'callback_number', 'callback_attempts', 'queue', 'channel'))
if state ~= 'connected' or holder ~= agent_id then return {'refused', 'not_connected'} end
if not number or number == '' then return {'refused', 'not_a_callback'} end
attempts = (tonumber(attempts) or 0) + 1
redis.call('HSET', contact_key, 'callback_attempts', attempts, 'callback_outcome', outcome,
  'callback_outcome_at', now)
local retry = (outcome == 'no_answer' or outcome == 'busy') and attempts < tonumber(most_attempts)
if not retry then
  emit(events_key, 'callback_outcome', now, 'contact', contact_id, 'agent', agent_id,
    'outcome', outcome, 'attempts', attempts, 'queue', queue, 'channel', channel)
  return {'ok', 'recorded', attempts}
end
redis.call('HSET', contact_key, 'state', 'scheduled', 'callback_due_at', retry_at,
  'agent_id', '', 'offer_id', '')
redis.call('HDEL', contact_key, 'connected_at')
redis.call('ZADD', due_key, retry_at, contact_id)
release(work_key, agent_key, contact_id, now)
take_next_presence(agent_key, work_key, available_key, events_key, agent_id, now)
touch(agent_changes_key, agent_id)
emit(events_key, 'callback_scheduled', now, 'contact', contact_id, 'agent', agent_id,
  'outcome', outcome, 'attempts', attempts, 'due', retry_at, 'queue', queue,
  'channel', channel)
return {'ok', 'scheduled', attempts}
