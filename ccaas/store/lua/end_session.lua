-- end_session: an agent whose session deadline passed has no console any more: its session
-- is forgotten (the caller then sets it offline). A deadline pushed on meanwhile (the console
-- came back) refuses.
-- KEYS[1] agent sessions hash  KEYS[2] session deadlines zset
-- ARGV[1] agent id  ARGV[2] now (ms)
-- Returns {"ok", the session ended} or {"refused", "alive"}.
local sessions_key, deadlines_key = unpack(KEYS, 1, 2)
local agent_id, now = ARGV[1], tonumber(ARGV[2])
local deadline = tonumber(redis.call('ZSCORE', deadlines_key, agent_id))
if not deadline or deadline > now then return {'refused', 'alive'} end
local session = redis.call('HGET', sessions_key, agent_id) or ''
redis.call('HDEL', sessions_key, agent_id)
redis.call('ZREM', deadlines_key, agent_id)
return {'ok', session}
