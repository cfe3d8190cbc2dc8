-- read_agents (read only): profile and held work of many agents in one round trip.
-- KEYS[2i-1] agent hash, KEYS[2i] agent work hash, for i = 1..n
-- Returns per agent {flat HGETALL of the agent, flat HGETALL of its work}.
local out = {}
for i = 1, #KEYS, 2 do
  local agent_key, work_key = KEYS[i], KEYS[i + 1]
  out[#out + 1] = {redis.call('HGETALL', agent_key), redis.call('HGETALL', work_key)}
end
return out
