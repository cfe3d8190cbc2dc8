-- link_identities: give a customer the identities nobody owns yet, creating the customer if
-- it does not exist. Refused, changing nothing, if one of them is owned by another customer
-- now (the caller read the index before; it reads again and decides again).
-- KEYS[1] identity index hash  KEYS[2] customer hash  KEYS[3] customer identities set
-- KEYS[4] events
-- ARGV[1] customer id  ARGV[2] now (ms)  ARGV[3] "create" to create the customer if missing
-- ARGV[4..] identities as "kind:value"
-- Returns {"ok", 1 if created else 0, identities newly linked} or {"refused", reason, key}.
local customer_id, now = ARGV[1], ARGV[2]
for i = 4, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if owner and owner ~= customer_id then return {'refused', 'owned_by_other', ARGV[i]} end
end
if redis.call('HEXISTS', KEYS[2], 'erased_at') == 1
    or redis.call('HEXISTS', KEYS[2], 'merged_into') == 1 then
  return {'refused', 'no_customer', customer_id}
end
local created = 0
if redis.call('EXISTS', KEYS[2]) == 0 then
  if ARGV[3] ~= 'create' then return {'refused', 'no_customer', customer_id} end
  redis.call('HSET', KEYS[2], 'id', customer_id, 'created_at', now, 'updated_at', now)
  emit(KEYS[4], 'customer_created', now, 'customer', customer_id)
  created = 1
end
local linked = 0
for i = 4, #ARGV do
  if redis.call('HSETNX', KEYS[1], ARGV[i], customer_id) == 1 then
    redis.call('SADD', KEYS[3], ARGV[i])
    linked = linked + 1
    emit(KEYS[4], 'identity_linked', now, 'customer', customer_id, 'identity_kind',
      string.match(ARGV[i], '^[^:]+'))
  end
end
return {'ok', created, linked}
