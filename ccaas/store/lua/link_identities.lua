-- link_identities: give a customer the identities nobody owns yet, creating the customer if
-- it does not exist. Refused, changing nothing, if one of them is owned by another customer
-- now (the caller read the index before; it reads again and decides again). Events name
-- neither the customer nor the identity's value (they outlive an erasure): only its kind.
-- KEYS[1] identity index hash  KEYS[2] customer hash  KEYS[3] customer identities set
-- KEYS[4] events
-- ARGV[1] customer id  ARGV[2] now (ms)  ARGV[3] "create" to create the customer if missing
-- ARGV[4..] identities as "kind:value"
-- Returns {"ok", 1 if created else 0, identities newly linked}, {"refused", "owned_by_other",
-- identity, its owner} or {"refused", "no_customer", customer id}.
local index_key, customer_key, identities_key, events_key = unpack(KEYS, 1, 4)
local customer_id, now, mode = unpack(ARGV, 1, 3)
local identities = {unpack(ARGV, 4)}
for _, identity in ipairs(identities) do
  local owner = redis.call('HGET', index_key, identity)
  if owner and owner ~= customer_id then return {'refused', 'owned_by_other', identity, owner} end
end
local status = customer_status(customer_key)
if status == 'erased' or status == 'merged' then
  return {'refused', 'no_customer', customer_id}
end
local created = 0
if status == 'missing' then
  if mode ~= 'create' then return {'refused', 'no_customer', customer_id} end
  redis.call('HSET', customer_key, 'id', customer_id, 'created_at', now, 'updated_at', now)
  emit(events_key, 'customer_created', now)
  created = 1
end
local linked = 0
for _, identity in ipairs(identities) do
  if redis.call('HSETNX', index_key, identity, customer_id) == 1 then
    redis.call('SADD', identities_key, identity)
    linked = linked + 1
    emit(events_key, 'identity_linked', now, 'identity_kind', string.match(identity, '^[^:]+'))
  end
end
return {'ok', created, linked}
