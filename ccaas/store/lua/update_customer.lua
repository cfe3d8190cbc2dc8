-- update_customer: set or remove profile fields of an existing customer. The event names the
-- fields changed, not the customer (events outlive an erasure).
-- KEYS[1] customer hash  KEYS[2] events
-- ARGV[1] customer id  ARGV[2] now (ms)  ARGV[3] JSON {field: value (a string) or false (remove)}
-- Returns {"ok"} or {"refused", "no_customer"}.
local customer_key, events_key = unpack(KEYS, 1, 2)
local customer_id, now, changes_json = unpack(ARGV, 1, 3)
if not customer_is_live(customer_key) then return {'refused', 'no_customer'} end
local fields = {}
for name, value in pairs(cjson.decode(changes_json)) do
  if value == false then
    redis.call('HDEL', customer_key, name)
  else
    redis.call('HSET', customer_key, name, value)
  end
  fields[#fields + 1] = name
end
table.sort(fields)
redis.call('HSET', customer_key, 'updated_at', now)
emit(events_key, 'customer_updated', now, 'fields', table.concat(fields, ','))
return {'ok'}
