-- relax: apply one relaxation step to a waiting contact, once. The contact keeps its arrival
-- time; its requirements, priority (and so its score) and queue change as the step says.
-- KEYS[1] contact hash  KEYS[2] current queue waiting zset  KEYS[3] current queue arrivals
-- KEYS[4] target queue waiting zset  KEYS[5] target queue arrivals (the same two if no move)
-- KEYS[6] contact changes zset  KEYS[7] events  KEYS[8] wake flag
-- ARGV[1] contact id  ARGV[2] step key  ARGV[3] now (ms)  ARGV[4] expected queue
-- ARGV[5] effect JSON {require: {skill: level}, drop: [skill], add_priority: n, move_to: q|""}
-- ARGV[6] seconds of waiting one priority point is worth (aging_seconds_per_priority)  ARGV[7] wake channel
-- ARGV[8] trigger, in words  ARGV[9] most contact changes kept
-- KEYS[9] rules active version  ARGV[10] the rules version the step comes from
-- Returns {"ok", new queue, new priority} or {"refused", reason}.
if (redis.call('GET', KEYS[9]) or '0') ~= ARGV[10] then return {'refused', 'rules_changed'} end
local c = redis.call('HMGET', KEYS[1], 'state', 'queue', 'skills', 'priority',
  'first_enqueued_at', 'relaxed', 'channel')
if c[1] ~= 'queued' or c[2] ~= ARGV[4] or not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return {'refused', 'contact_not_waiting'}
end
local relaxed = cjson.decode(c[6] or '[]')
for _, done in ipairs(relaxed) do
  if done['step'] == ARGV[2] then return {'refused', 'already_applied'} end
end
local effect = cjson.decode(ARGV[5])
local skills = cjson.decode(c[3] or '{}')
for _, skill in ipairs(effect['drop']) do skills[skill] = nil end
for skill, level in pairs(effect['require']) do skills[skill] = level end
local priority = tonumber(c[4]) + tonumber(effect['add_priority'])
priority = math.max(-100, math.min(100, priority))  -- as ccaas.domain.relaxation.apply_effect
-- ccaas.domain.ordering.order_score, the same operations in the same order
local score = tonumber(c[5]) - priority * tonumber(ARGV[6]) * 1000
local queue = c[2]
local moved = effect['move_to'] ~= ''
if moved then queue = effect['move_to'] end
local skills_json = cjson.encode(skills)
if next(skills) == nil then skills_json = '{}' end
relaxed[#relaxed + 1] = {step = ARGV[2], at = tonumber(ARGV[3]), trigger = ARGV[8],
  from_queue = c[2], to_queue = queue, priority = priority, skills = skills}
local fields = {'skills', skills_json, 'priority', priority, 'score', score,
  'relaxed', cjson.encode(relaxed), 'queue', queue}
if moved then
  fields[#fields + 1] = 'queue_since'
  fields[#fields + 1] = ARGV[3]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], score, ARGV[1])
redis.call('ZADD', KEYS[5], c[5], ARGV[1])
-- routers re-read a changed contact: its sequence goes up; old entries are trimmed
local top = redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[6], (tonumber(top[2]) or 0) + 1, ARGV[1])
local excess = redis.call('ZCARD', KEYS[6]) - tonumber(ARGV[9])
if excess > 0 then redis.call('ZREMRANGEBYRANK', KEYS[6], 0, excess - 1) end
emit(KEYS[7], 'contact_relaxed', ARGV[3], 'contact', ARGV[1], 'step', ARGV[2],
  'queue', queue, 'from_queue', c[2], 'channel', c[7], 'trigger', ARGV[8])
wake(KEYS[8], ARGV[7])
return {'ok', queue, priority}
