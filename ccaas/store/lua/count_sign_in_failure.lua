-- count_sign_in_failure: a sign-in failed; it counts against the agent id tried and against
-- the address it came from, each for a window after its first failure.
-- KEYS[1] failures of the agent id  KEYS[2] failures of the address
-- ARGV[1] window (ms)
-- Returns {"ok", failures of the agent id, failures of the address}.
local window = ARGV[1]
local counts = {}
for i = 1, 2 do
  counts[i] = redis.call('INCR', KEYS[i])
  if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], window) end
end
return {'ok', counts[1], counts[2]}
