-- keep_sessions: a replica says which sessions it still holds (connected, or closed at the
-- time given): each agent whose session is still that one gets the new deadline. A session
-- replaced meanwhile is left alone.
-- KEYS[1] agent sessions hash  KEYS[2] session deadlines zset
-- ARGV: for each session, in threes: agent id, session id, deadline (ms)
-- A session no longer recorded at all (another replica, cut off from this one, found its
-- deadline passed and ended it) is recorded again: its console is still connected.
-- Returns {"ok", {agent id, session id, ...} of the sessions another replaced} (their
-- replacement was announced; a replica that missed it closes them now).
local sessions_key, deadlines_key = unpack(KEYS, 1, 2)
local stale = {}
for i = 1, #ARGV, 3 do
  local agent_id, session_id, deadline = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local current = redis.call('HGET', sessions_key, agent_id)
  if current == session_id or not current then
    redis.call('HSET', sessions_key, agent_id, session_id)
    redis.call('ZADD', deadlines_key, deadline, agent_id)
  else
    stale[#stale + 1] = agent_id
    stale[#stale + 1] = session_id
  end
end
return {'ok', stale}
