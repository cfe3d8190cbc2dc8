-- keep_sessions: a replica says which sessions it still holds (connected, or closed at the
-- time given): each agent whose session is still that one gets the new deadline. A session
-- replaced meanwhile is left alone.
-- KEYS[1] agent sessions hash  KEYS[2] session deadlines zset
-- ARGV: for each session, in threes: agent id, session id, deadline (ms)
-- Returns {"ok", how many were still current}.
local sessions_key, deadlines_key = unpack(KEYS, 1, 2)
local kept = 0
for i = 1, #ARGV, 3 do
  local agent_id, session_id, deadline = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('HGET', sessions_key, agent_id) == session_id then
    redis.call('ZADD', deadlines_key, deadline, agent_id)
    kept = kept + 1
  end
end
return {'ok', kept}
