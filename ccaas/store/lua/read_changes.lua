-- read_changes (reads, and clears the wake flag): what changed since a router last read, in
-- one round trip, so that a round starts from the state the router keeps.
-- KEYS[1] agent changes zset  KEYS[2] contact changes zset  KEYS[3] wake flag
-- ARGV[1] agent sequence seen  ARGV[2] contact sequence seen  ARGV[3] most contacts returned
-- ARGV[4] agent hash name, ARGV[5] agent work hash name, ARGV[6] contact hash name, each with
--   "%s" where the id goes (from ccaas.store.keys, which builds every name)
-- ARGV[7] the contact fields a router reads, comma separated
-- ARGV[8] agent change sequences the router made itself and already knows the result of (its
--   own offers), as ascending ranges "first-last,first-last,...": an agent whose newest
--   change is one of them is not sent again
-- ARGV[9] the same for contact changes (the contacts its own offers took): not sent again
-- Returns {newest agent sequence, agent rows, newest contact sequence, last contact sequence
--   read (sent or skipped), contact rows}; an agent row is {id, sequence,
--   flat HGETALL of the agent, flat HGETALL of its work}; a contact row {id, sequence,
--   state (false once the contact is gone)}, then for a waiting contact its score and the
--   fields in order.
local agent_changes_key, contact_changes_key, wake_key = unpack(KEYS, 1, 3)
local agent_seen, contact_seen, most, agent_name, work_name, contact_name, fields_csv,
  own_agent_ranges, own_contact_ranges = unpack(ARGV, 1, 9)
redis.call('DEL', wake_key)

-- A test "is this sequence one of the ranges?" for sequences asked in ascending order.
local function among(csv)
  local ranges = {}
  for first, last in string.gmatch(csv, '(%d+)-(%d+)') do
    ranges[#ranges + 1] = {tonumber(first), tonumber(last)}
  end
  local j = 1
  return function(seq)
    seq = tonumber(seq)
    while ranges[j] and ranges[j][2] < seq do j = j + 1 end
    return ranges[j] ~= nil and ranges[j][1] <= seq
  end
end

local fields = {'score'}
for name in string.gmatch(fields_csv, '[^,]+') do fields[#fields + 1] = name end

local newest_agent = redis.call('ZRANGE', agent_changes_key, -1, -1, 'WITHSCORES')[2] or '0'
local agents = {}
local changed = redis.call('ZRANGEBYSCORE', agent_changes_key, '(' .. agent_seen, '+inf',
  'WITHSCORES')
local own_agent = among(own_agent_ranges)
for i = 1, #changed, 2 do
  local id, seq = changed[i], changed[i + 1]
  if not own_agent(seq) then
    agents[#agents + 1] = {id, seq, redis.call('HGETALL', string.format(agent_name, id)),
      redis.call('HGETALL', string.format(work_name, id))}
  end
end

local newest = redis.call('ZRANGE', contact_changes_key, -1, -1, 'WITHSCORES')[2] or '0'
local contacts = {}
local last = contact_seen
changed = redis.call('ZRANGEBYSCORE', contact_changes_key, '(' .. contact_seen, '+inf',
  'WITHSCORES', 'LIMIT', 0, tonumber(most))
local own_contact = among(own_contact_ranges)
for i = 1, #changed, 2 do
  local id, seq = changed[i], changed[i + 1]
  if id == ':trimmed' then
    contacts[#contacts + 1] = {id, seq, false}  -- the trim marker (see _lib.lua's touch)
  elseif not own_contact(seq) then
    local contact_key = string.format(contact_name, id)
    local state = redis.call('HGET', contact_key, 'state')
    local row = {id, seq, state}
    if state == 'queued' then
      -- most changes are offers made: only a waiting contact's fields are sent
      for _, value in ipairs(redis.call('HMGET', contact_key, unpack(fields))) do
        row[#row + 1] = value
      end
    end
    contacts[#contacts + 1] = row
  end
  last = seq
end
return {newest_agent, agents, newest, last, contacts}
