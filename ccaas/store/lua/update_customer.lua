-- update_customer: set or remove profile fields of an existing customer.
-- KEYS[1] customer hash  KEYS[2] events
-- ARGV[1] customer id  ARGV[2] now (ms)  ARGV[3] JSON {field: value (a string) or false (remove)}
-- Returns {"ok"} or {"refused", "no_customer"}.
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'erased_at') == 1
    or redis.call('HEXISTS', KEYS[1], 'merged_into') == 1 then
  return {'refused', 'no_customer'}
end
local changes = cjson.decode(ARGV[3])
local fields = {}
for name, value in pairs(changes) do
  if value == false then
    redis.call('HDEL', KEYS[1], name)
  else
    redis.call('HSET', KEYS[1], name, value)
  end
  fields[#fields + 1] = name
end
table.sort(fields)
redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
emit(KEYS[2], 'customer_updated', ARGV[2], 'customer', ARGV[1], 'fields', table.concat(fields, ','))
return {'ok'}
