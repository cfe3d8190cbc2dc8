-- read_fields (read only): the same fields of many hashes in one round trip.
-- KEYS[1..n] hashes  ARGV[1..m] field names
-- Returns one list of m values (false where missing) per hash.
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HMGET', key, unpack(ARGV))
end
return out
