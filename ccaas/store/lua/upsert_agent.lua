-- upsert_agent: create an agent (offline) or replace its profile: name, skills, routing
-- profile, extra queues and capacity overrides. Presence, work and counters are kept; the
-- profile revision goes up so that claims planned with the old profile are refused.
-- KEYS[1] agent hash  KEYS[2] agents set  KEYS[3] agent changes  KEYS[4] events
-- ARGV[1] agent id  ARGV[2] name  ARGV[3] skills JSON  ARGV[4] extra queues JSON
-- ARGV[5] capacity overrides JSON  ARGV[6] now (ms)  ARGV[7] routing profile name ("" none)
-- Returns {1 if created else 0}.
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  created = 1
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'presence', 'offline', 'away_reason', '',
    'idle_since', ARGV[6], 'missed', 0, 'created_at', ARGV[6])
  redis.call('SADD', KEYS[2], ARGV[1])
end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'skills', ARGV[3], 'queues', ARGV[4],
  'capacity', ARGV[5], 'profile', ARGV[7], 'updated_at', ARGV[6])
redis.call('HINCRBY', KEYS[1], 'rev', 1)
touch(KEYS[3], ARGV[1])
emit(KEYS[4], created == 1 and 'agent_created' or 'agent_updated', ARGV[6], 'agent', ARGV[1])
return {created}
