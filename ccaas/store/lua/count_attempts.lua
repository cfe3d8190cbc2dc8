-- count_attempts: an attempt counts against two subjects (a failed sign-in against the agent
-- id tried and the address it came from; a web chat started against the address and the
-- browser), each for a window after its first attempt.
-- KEYS[1] attempts of the first subject  KEYS[2] attempts of the second
-- ARGV[1] window (ms)
-- Returns {"ok", attempts of the first, attempts of the second}.
local window = ARGV[1]
local counts = {}
for i = 1, 2 do
  counts[i] = redis.call('INCR', KEYS[i])
  if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], window) end
end
return {'ok', counts[1], counts[2]}
