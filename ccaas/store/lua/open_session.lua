-- open_session: an agent's console connects. Its session becomes the agent's one session; a
-- session it replaces is told through the sessions channel (the replica holding it closes
-- it), and the agent will not go offline before ARGV[3].
-- KEYS[1] agent hash  KEYS[2] agent sessions hash  KEYS[3] session deadlines zset
-- ARGV[1] agent id  ARGV[2] session id  ARGV[3] deadline (ms)  ARGV[4] sessions channel
-- Returns {"ok", the session replaced or ""} or {"refused", "no_agent"}.
local agent_key, sessions_key, deadlines_key = unpack(KEYS, 1, 3)
local agent_id, session_id, deadline, channel = unpack(ARGV, 1, 4)
if redis.call('EXISTS', agent_key) == 0 then return {'refused', 'no_agent'} end
local replaced = redis.call('HGET', sessions_key, agent_id) or ''
redis.call('HSET', sessions_key, agent_id, session_id)
redis.call('ZADD', deadlines_key, deadline, agent_id)
if replaced ~= '' and replaced ~= session_id then
  redis.call('PUBLISH', channel, agent_id .. '\t' .. replaced)
end
return {'ok', replaced}
