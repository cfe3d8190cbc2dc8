-- relax: apply one relaxation step to a waiting contact, once. The contact keeps its arrival
-- time; its requirements, priority (and so its score) and queue change as the step says, with
-- the sums of ccaas.domain.rules.relaxation.apply_effect and ccaas.domain.ordering.order_score.
-- KEYS[1] contact hash  KEYS[2] current queue waiting zset  KEYS[3] current queue arrivals
-- KEYS[4] target queue waiting zset  KEYS[5] target queue arrivals (the same two if no move)
-- KEYS[6] contact changes zset  KEYS[7] events  KEYS[8] wake flag  KEYS[9] rules active version
-- ARGV[1] contact id  ARGV[2] step key  ARGV[3] now (ms)  ARGV[4] expected queue
-- ARGV[5] effect JSON {require: {skill: level}, drop: [skill], add_priority: n, move_to: q|""}
-- ARGV[6] seconds of waiting one priority point is worth (aging_seconds_per_priority)
-- ARGV[7] wake channel  ARGV[8] trigger, in words  ARGV[9] most contact changes kept
-- ARGV[10] the rules version the step comes from
-- Returns {"ok", new queue, new priority} or {"refused", reason}.
local contact_key, waiting_key, arrivals_key, target_waiting_key, target_arrivals_key,
  contact_changes_key, events_key, wake_key, rules_key = unpack(KEYS, 1, 9)
local contact_id, step, now, expected_queue, effect_json, aging, wake_channel, trigger,
  most_changes_kept, rules_version = unpack(ARGV, 1, 10)
if (redis.call('GET', rules_key) or '0') ~= rules_version then
  return {'refused', 'rules_changed'}
end
local state, queue, skills_json, priority, first_enqueued, relaxed_json, channel =
  unpack(redis.call('HMGET', contact_key, 'state', 'queue', 'skills', 'priority',
    'first_enqueued_at', 'relaxed', 'channel'))
if state ~= 'queued' or queue ~= expected_queue
    or not redis.call('ZSCORE', waiting_key, contact_id) then
  return {'refused', 'contact_not_waiting'}
end
local relaxed = cjson.decode(relaxed_json or '[]')
for _, done in ipairs(relaxed) do
  if done['step'] == step then return {'refused', 'already_applied'} end
end
local effect = cjson.decode(effect_json)
local skills = cjson.decode(skills_json or '{}')
for _, skill in ipairs(effect['drop']) do skills[skill] = nil end
for skill, level in pairs(effect['require']) do skills[skill] = level end
local new_priority = math.max(-100, math.min(100, tonumber(priority) + effect['add_priority']))
local score = tonumber(first_enqueued) - new_priority * tonumber(aging) * 1000
local moved = effect['move_to'] ~= ''
local new_queue = queue
if moved then new_queue = effect['move_to'] end
local new_skills_json = cjson.encode(skills)
if next(skills) == nil then new_skills_json = '{}' end
relaxed[#relaxed + 1] = {step = step, at = tonumber(now), trigger = trigger,
  from_queue = queue, to_queue = new_queue, priority = new_priority, skills = skills}
local fields = {'skills', new_skills_json, 'priority', new_priority, 'score', score,
  'relaxed', cjson.encode(relaxed), 'queue', new_queue}
if moved then
  fields[#fields + 1] = 'queue_since'
  fields[#fields + 1] = now
end
redis.call('HSET', contact_key, unpack(fields))
redis.call('ZREM', waiting_key, contact_id)
redis.call('ZREM', arrivals_key, contact_id)
redis.call('ZADD', target_waiting_key, score, contact_id)
redis.call('ZADD', target_arrivals_key, first_enqueued, contact_id)
-- routers re-read a changed contact: its sequence goes up; old entries are trimmed
touch(contact_changes_key, contact_id, tonumber(most_changes_kept))
emit(events_key, 'contact_relaxed', now, 'contact', contact_id, 'step', step,
  'queue', new_queue, 'from_queue', queue, 'channel', channel, 'trigger', trigger)
wake(wake_key, wake_channel)
return {'ok', new_queue, new_priority}
