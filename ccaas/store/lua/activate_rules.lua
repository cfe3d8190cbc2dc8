-- activate_rules: store a validated rules text as the next version and put it in force, unless
-- it is the very text in force already (two replicas seeing one file change make one version).
-- KEYS[1] version counter  KEYS[2] active version  KEYS[3] texts hash  KEYS[4] meta hash
-- KEYS[5] events
-- ARGV[1] YAML text  ARGV[2] meta JSON (must hold "checksum")  ARGV[3] now (ms)
-- ARGV[4] rules pub/sub channel  ARGV[5] "dedupe" to skip a text equal to the active one
-- Returns {"ok", version in force, 1 if a new version was made else 0}.
local counter_key, active_key, texts_key, meta_key, events_key = unpack(KEYS, 1, 5)
local text, meta_json, now, rules_channel, mode = unpack(ARGV, 1, 5)
local active = redis.call('GET', active_key)
local meta = cjson.decode(meta_json)
if mode == 'dedupe' and active then
  local current = redis.call('HGET', meta_key, active)
  if current and cjson.decode(current)['checksum'] == meta['checksum'] then
    return {'ok', tonumber(active), 0}
  end
end
local version = redis.call('INCR', counter_key)
redis.call('HSET', texts_key, version, text)
redis.call('HSET', meta_key, version, meta_json)
redis.call('SET', active_key, version)
emit(events_key, 'rules_activated', now, 'version', version, 'source', meta['source'] or '')
redis.call('PUBLISH', rules_channel, version)
return {'ok', version, 1}
