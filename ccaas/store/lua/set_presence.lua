-- set_presence: an agent says available, away (with a reason) or offline. Becoming available
-- ends the missed-offer streak and starts idle time. The caller withdraws any ringing offers
-- (returned here) of an agent who is no longer available, and ends wrap-ups of one who is.
-- A presence chosen for when the work ends (next_presence) is dropped: this one replaces it.
-- KEYS[1] agent hash  KEYS[2] agent work hash  KEYS[3] agents available set
-- KEYS[4] agent changes  KEYS[5] events  KEYS[6] wake flag
-- ARGV[1] agent id  ARGV[2] presence  ARGV[3] away reason  ARGV[4] now (ms)
-- ARGV[5] wake channel
-- Returns {"ok", presence before, {ringing contact ids}, {wrap-up contact ids}}
-- or {"refused", reason}.
local agent_key, work_key, available_key, agent_changes_key, events_key, wake_key =
  unpack(KEYS, 1, 6)
local agent_id, presence, away_reason, now, wake_channel = unpack(ARGV, 1, 5)
local before = redis.call('HGET', agent_key, 'presence')
if not before then return {'refused', 'unknown_agent'} end
local reason = ''
if presence == 'away' then reason = away_reason end
redis.call('HSET', agent_key, 'presence', presence, 'away_reason', reason, 'updated_at', now)
redis.call('HDEL', agent_key, 'next_presence', 'next_reason')  -- a choice now replaces it
if presence == 'available' then
  if before ~= 'available' then
    redis.call('HSET', agent_key, 'idle_since', now, 'missed', 0)
  end
  redis.call('SADD', available_key, agent_id)
  wake(wake_key, wake_channel)
else
  redis.call('SREM', available_key, agent_id)
end
if before ~= presence or presence == 'away' then
  emit(events_key, 'agent_presence', now, 'agent', agent_id, 'presence', presence,
    'reason', reason)
end
touch(agent_changes_key, agent_id)
local ringing, wrapping = {}, {}
local work = redis.call('HGETALL', work_key)
for i = 1, #work, 2 do
  local contact_id, state = work[i], parse_work(work[i + 1])
  if state == 'offered' then ringing[#ringing + 1] = contact_id end
  if state == 'wrap_up' then wrapping[#wrapping + 1] = contact_id end
end
return {'ok', before, ringing, wrapping}
