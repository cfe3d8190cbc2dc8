-- set_password: an agent's password becomes the one whose argon2id hash is given; the hash
-- lives in the agent's credentials hash, apart from the agent hash every read of the agent
-- returns. The event names the agent, never the hash.
-- KEYS[1] agent hash  KEYS[2] agent credentials hash  KEYS[3] events stream
-- ARGV[1] agent id  ARGV[2] the password's argon2id hash  ARGV[3] now (ms)
-- Returns {"ok"} or {"refused", "no_agent"}.
local agent_key, credentials_key, events_key = unpack(KEYS, 1, 3)
local agent_id, password_hash, now = unpack(ARGV, 1, 3)
if redis.call('EXISTS', agent_key) == 0 then return {'refused', 'no_agent'} end
redis.call('HSET', credentials_key, 'password', password_hash, 'set_at', now)
emit(events_key, 'agent_password_set', now, 'agent', agent_id)
return {'ok'}
