-- read_fields (read only): the same fields of many hashes in one round trip.
-- KEYS[1..n] hashes  ARGV[1..m] field names
-- Returns one list of m values (false where missing) per hash.
local hash_keys, field_names = KEYS, ARGV
local out = {}
for i, hash_key in ipairs(hash_keys) do
  out[i] = redis.call('HMGET', hash_key, unpack(field_names))
end
return out
