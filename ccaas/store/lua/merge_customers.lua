-- merge_customers: join customer FROM into customer TO. TO gains FROM's identities and
-- timeline (a contact in both appears once); for a profile field both have, the value of
-- the customer updated later wins (ties: the smaller id), so merging A into B or B into A
-- gives the same profile. FROM becomes a tombstone pointing at TO.
-- KEYS[1] identity index  KEYS[2] FROM hash  KEYS[3] FROM identities  KEYS[4] FROM timeline
-- KEYS[5] TO hash  KEYS[6] TO identities  KEYS[7] TO timeline  KEYS[8] events
-- ARGV[1] FROM id  ARGV[2] TO id  ARGV[3] now (ms)
-- Returns {"ok", identities moved, contacts joined} or {"refused", reason}.
if ARGV[1] == ARGV[2] then return {'refused', 'same_customer'} end
if redis.call('HEXISTS', KEYS[2], 'merged_into') == 1 then return {'refused', 'from_merged'} end
if redis.call('HEXISTS', KEYS[5], 'merged_into') == 1 then return {'refused', 'to_merged'} end
if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('HEXISTS', KEYS[2], 'erased_at') == 1 then
  return {'refused', 'no_from'}
end
if redis.call('EXISTS', KEYS[5]) == 0 or redis.call('HEXISTS', KEYS[5], 'erased_at') == 1 then
  return {'refused', 'no_to'}
end
local from_updated = tonumber(redis.call('HGET', KEYS[2], 'updated_at')) or 0
local to_updated = tonumber(redis.call('HGET', KEYS[5], 'updated_at')) or 0
local from_wins = from_updated > to_updated or (from_updated == to_updated and ARGV[1] < ARGV[2])
local kept = {id = true, created_at = true, updated_at = true, merged_from = true}
local fields = redis.call('HGETALL', KEYS[2])
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if not kept[name] and (from_wins or redis.call('HEXISTS', KEYS[5], name) == 0) then
    redis.call('HSET', KEYS[5], name, value)
  end
end
local from_created = tonumber(redis.call('HGET', KEYS[2], 'created_at')) or 0
local to_created = tonumber(redis.call('HGET', KEYS[5], 'created_at')) or 0
if from_created < to_created then redis.call('HSET', KEYS[5], 'created_at', from_created) end
local moved = 0
for _, identity in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('HSET', KEYS[1], identity, ARGV[2])
  redis.call('SADD', KEYS[6], identity)
  moved = moved + 1
end
local before = redis.call('ZCARD', KEYS[7])
redis.call('ZUNIONSTORE', KEYS[7], 2, KEYS[7], KEYS[4], 'AGGREGATE', 'MIN')
local joined = redis.call('ZCARD', KEYS[7]) - before
local merged = cjson.decode(redis.call('HGET', KEYS[5], 'merged_from') or '[]')
merged[#merged + 1] = ARGV[1]
redis.call('HSET', KEYS[5], 'merged_from', cjson.encode(merged), 'updated_at',
  math.max(from_updated, to_updated))
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'merged_into', ARGV[2], 'merged_at', ARGV[3])
emit(KEYS[8], 'customers_merged', ARGV[3], 'customer', ARGV[2], 'from', ARGV[1])
return {'ok', moved, joined}
