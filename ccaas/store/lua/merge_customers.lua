-- merge_customers: join customer FROM into customer TO. TO gains FROM's identities and
-- timeline (a contact in both appears once); for a profile field both have, the value of
-- the customer updated later wins (ties: the smaller id), so merging A into B or B into A
-- gives the same profile. last_agent is the exception: it is the agent of the most recent
-- contact either had (last_agent_at, set on accept; ties and profiles that lack it fall
-- back to the rule above). FROM becomes a tombstone pointing at TO; TO's merged_from lists
-- FROM and every customer merged into FROM before. The event names no customer.
-- KEYS[1] identity index  KEYS[2] FROM hash  KEYS[3] FROM identities  KEYS[4] FROM timeline
-- KEYS[5] TO hash  KEYS[6] TO identities  KEYS[7] TO timeline  KEYS[8] events
-- KEYS[9] FROM agents set  KEYS[10] TO agents set (the agents who served either may read TO)
-- ARGV[1] FROM id  ARGV[2] TO id  ARGV[3] now (ms)
-- Returns {"ok", identities moved, contacts joined} or {"refused", reason}.
local index_key, from_key, from_identities_key, from_timeline_key, to_key,
  to_identities_key, to_timeline_key, events_key, from_agents_key, to_agents_key =
  unpack(KEYS, 1, 10)
local from_id, to_id, now = unpack(ARGV, 1, 3)
if from_id == to_id then return {'refused', 'same_customer'} end
local from_status, to_status = customer_status(from_key), customer_status(to_key)
if from_status == 'merged' then return {'refused', 'from_merged'} end
if to_status == 'merged' then return {'refused', 'to_merged'} end
if from_status ~= 'live' then return {'refused', 'no_from'} end
if to_status ~= 'live' then return {'refused', 'no_to'} end
local from_updated = tonumber(redis.call('HGET', from_key, 'updated_at')) or 0
local to_updated = tonumber(redis.call('HGET', to_key, 'updated_at')) or 0
local from_wins = from_updated > to_updated or (from_updated == to_updated and from_id < to_id)
local kept = {id = true, created_at = true, updated_at = true, merged_from = true,
  last_agent = true, last_agent_at = true}
local from_agent, from_agent_at = unpack(redis.call('HMGET', from_key, 'last_agent',
  'last_agent_at'))
local to_agent, to_agent_at = unpack(redis.call('HMGET', to_key, 'last_agent', 'last_agent_at'))
from_agent_at, to_agent_at = tonumber(from_agent_at) or -1, tonumber(to_agent_at) or -1
if from_agent and (not to_agent or from_agent_at > to_agent_at
    or (from_agent_at == to_agent_at and from_wins)) then
  redis.call('HSET', to_key, 'last_agent', from_agent)
  if from_agent_at >= 0 then
    redis.call('HSET', to_key, 'last_agent_at', from_agent_at)
  else
    redis.call('HDEL', to_key, 'last_agent_at')
  end
end
local fields = redis.call('HGETALL', from_key)
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if not kept[name] and (from_wins or redis.call('HEXISTS', to_key, name) == 0) then
    redis.call('HSET', to_key, name, value)
  end
end
local from_created = tonumber(redis.call('HGET', from_key, 'created_at')) or 0
local to_created = tonumber(redis.call('HGET', to_key, 'created_at')) or 0
if from_created < to_created then redis.call('HSET', to_key, 'created_at', from_created) end
local moved = 0
for _, identity in ipairs(redis.call('SMEMBERS', from_identities_key)) do
  redis.call('HSET', index_key, identity, to_id)
  redis.call('SADD', to_identities_key, identity)
  moved = moved + 1
end
local before = redis.call('ZCARD', to_timeline_key)
redis.call('ZUNIONSTORE', to_timeline_key, 2, to_timeline_key, from_timeline_key,
  'AGGREGATE', 'MIN')
local joined = redis.call('ZCARD', to_timeline_key) - before
-- every customer ever joined into TO, through FROM too: erasing TO deletes their tombstones
local merged = cjson.decode(redis.call('HGET', to_key, 'merged_from') or '[]')
for _, earlier in ipairs(cjson.decode(redis.call('HGET', from_key, 'merged_from') or '[]')) do
  merged[#merged + 1] = earlier
end
merged[#merged + 1] = from_id
redis.call('HSET', to_key, 'merged_from', cjson.encode(merged), 'updated_at',
  math.max(from_updated, to_updated))
redis.call('SUNIONSTORE', to_agents_key, to_agents_key, from_agents_key)
redis.call('DEL', from_key, from_identities_key, from_timeline_key, from_agents_key)
redis.call('HSET', from_key, 'id', from_id, 'merged_into', to_id, 'merged_at', now)
emit(events_key, 'customers_merged', now, 'identities', moved, 'contacts', joined)
return {'ok', moved, joined}
