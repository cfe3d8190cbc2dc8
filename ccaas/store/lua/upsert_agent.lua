-- upsert_agent: create an agent (offline) or replace its profile: name, skills, routing
-- profile, extra queues and capacity overrides. Presence, work and counters are kept; the
-- profile revision goes up so that claims planned with the old profile are refused. An
-- available agent's new profile may let it take waiting contacts: routers are woken.
-- KEYS[1] agent hash  KEYS[2] agents set  KEYS[3] agent changes  KEYS[4] events
-- KEYS[5] wake flag
-- ARGV[1] agent id  ARGV[2] name  ARGV[3] skills JSON  ARGV[4] extra queues JSON
-- ARGV[5] capacity overrides JSON  ARGV[6] now (ms)  ARGV[7] routing profile name ("" none)
-- ARGV[8] wake channel  ARGV[9] voice endpoint (where its accepted calls are put through;
--   "" none)
-- Returns {"ok", 1 if created else 0}.
local agent_key, agents_key, agent_changes_key, events_key, wake_key = unpack(KEYS, 1, 5)
local agent_id, name, skills_json, queues_json, capacity_json, now, profile, wake_channel,
  voice_endpoint = unpack(ARGV, 1, 9)
local created = 0
if redis.call('EXISTS', agent_key) == 0 then
  created = 1
  redis.call('HSET', agent_key, 'id', agent_id, 'presence', 'offline', 'away_reason', '',
    'idle_since', now, 'missed', 0, 'created_at', now)
  redis.call('SADD', agents_key, agent_id)
end
redis.call('HSET', agent_key, 'name', name, 'skills', skills_json, 'queues', queues_json,
  'capacity', capacity_json, 'profile', profile, 'voice_endpoint', voice_endpoint,
  'updated_at', now)
redis.call('HINCRBY', agent_key, 'rev', 1)
touch(agent_changes_key, agent_id)
emit(events_key, created == 1 and 'agent_created' or 'agent_updated', now, 'agent', agent_id)
if redis.call('HGET', agent_key, 'presence') == 'available' then
  wake(wake_key, wake_channel)
end
return {'ok', created}
