-- activate_rules: store a validated rules text as the next version and put it in force, unless
-- it is the very text in force already (two replicas seeing one file change make one version).
-- KEYS[1] version counter  KEYS[2] active version  KEYS[3] texts hash  KEYS[4] meta hash
-- KEYS[5] events
-- ARGV[1] YAML text  ARGV[2] meta JSON (must hold "checksum")  ARGV[3] now (ms)
-- ARGV[4] rules pub/sub channel  ARGV[5] "dedupe" to skip a text equal to the active one
-- Returns {version, 1 if a new version was made else 0}.
local active = redis.call('GET', KEYS[2])
local meta = cjson.decode(ARGV[2])
if ARGV[5] == 'dedupe' and active then
  local current = redis.call('HGET', KEYS[4], active)
  if current and cjson.decode(current)['checksum'] == meta['checksum'] then
    return {tonumber(active), 0}
  end
end
local version = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[3], version, ARGV[1])
redis.call('HSET', KEYS[4], version, ARGV[2])
redis.call('SET', KEYS[2], version)
emit(KEYS[5], 'rules_activated', ARGV[3], 'version', version, 'source', meta['source'] or '')
redis.call('PUBLISH', ARGV[4], version)
return {version, 1}
