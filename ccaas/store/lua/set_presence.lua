-- set_presence: an agent says available, away (with a reason) or offline. Becoming available
-- ends the missed-offer streak and starts idle time. The caller withdraws any ringing offers
-- (returned here) of an agent who is no longer available, and ends wrap-ups of one who is.
-- KEYS[1] agent hash  KEYS[2] agent work hash  KEYS[3] agents available set
-- KEYS[4] agent changes  KEYS[5] events  KEYS[6] wake flag
-- ARGV[1] agent id  ARGV[2] presence  ARGV[3] away reason  ARGV[4] now (ms)
-- ARGV[5] wake channel
-- Returns {"ok", presence before, {ringing contact ids}, {wrap-up contact ids}}
-- or {"refused", reason}.
local before = redis.call('HGET', KEYS[1], 'presence')
if not before then return {'refused', 'unknown_agent'} end
local presence = ARGV[2]
local reason = ''
if presence == 'away' then reason = ARGV[3] end
redis.call('HSET', KEYS[1], 'presence', presence, 'away_reason', reason, 'updated_at', ARGV[4])
if presence == 'available' then
  if before ~= 'available' then
    redis.call('HSET', KEYS[1], 'idle_since', ARGV[4], 'missed', 0)
  end
  redis.call('SADD', KEYS[3], ARGV[1])
  wake(KEYS[6], ARGV[5])
else
  redis.call('SREM', KEYS[3], ARGV[1])
end
if before ~= presence or presence == 'away' then
  emit(KEYS[5], 'agent_presence', ARGV[4], 'agent', ARGV[1], 'presence', presence,
    'reason', reason)
end
touch(KEYS[4], ARGV[1])
local ringing, wrapping = {}, {}
local work = redis.call('HGETALL', KEYS[2])
for i = 1, #work, 2 do
  local state = string.match(work[i + 1], '^(.-):')
  if state == 'offered' then ringing[#ringing + 1] = work[i] end
  if state == 'wrap_up' then wrapping[#wrapping + 1] = work[i] end
end
return {'ok', before, ringing, wrapping}
