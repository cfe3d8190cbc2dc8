-- claim: commit a batch of planned offers. Each offer is re-checked on its own: the rules
-- version and the agent's profile revision must be those the router planned with (so the
-- router's reading of queues, capacity and delays still holds), the contact must still wait
-- in that queue, and the agent must still be eligible, checked in the order of
-- ccaas.domain.eligibility.ineligibility so the first reason is the same: available, serving
-- the contact's queue, not held off by a preferred agent, past the queue delay, with the
-- skills, with room, and not among those who rejected it within the cooldown the router
-- passes (0 when it planned the offer despite a reject: nobody else could take it);
-- otherwise that offer is refused and changes nothing.
-- KEYS[1] offer deadlines zset  KEYS[2] agent changes zset  KEYS[3] events stream
-- KEYS[4] rules active version  KEYS[5] contact changes zset  KEYS[6] wake flag
-- then for offer i = 0..n-1, KEYS[7+5i .. 11+5i]:
--   contact hash, queue waiting zset, queue arrivals zset, agent hash, agent work hash
-- ARGV[1] now (ms)  ARGV[2] exclusive channels, comma separated  ARGV[3] router name
-- ARGV[4] rules version planned with  ARGV[5] a random token fresh for this call: an offer id
--   is "{contact id}.{attempt}.{token}", so none is ever issued twice, even when Redis lost
--   its last writes and the attempt counter went back  ARGV[6] most contact changes kept
-- ARGV[7] "1": clear the wake flag first, as a read of the changes would (the router routes
--   an arrival from its wake-up without reading); "" leaves it
-- then for offer i, ARGV[8+9i .. 16+9i]: contact id, the queue planned (its zsets are the
--   offer's KEYS), agent id, when the offer rings out (ms),
--   agent profile revision, the agent's delay (ms) in the planned queue (-1: it does not
--   serve it; the contact must still wait in that queue, so it is the contact's queue),
--   the agent's limit on the contact's channel (a contact never changes channel), max total
--   (0: none), reject cooldown (ms)
-- Numbers written are passed on as the strings given, or formatted once: Redis formats a Lua
-- number argument with "%.17g", a cost that shows in every offer.
-- Returns one reply per offer: {"ok", offer id, the agent's change sequence before, after,
-- the contact's change sequence now} or {"refused", reason}.
local deadlines_key, agent_changes_key, events_key, rules_key, contact_changes_key, wake_key =
  unpack(KEYS, 1, 6)
local now_text, exclusive_csv, router, planned_version, token, most_changes_kept, clear_wake =
  unpack(ARGV, 1, 7)
if clear_wake == '1' then redis.call('DEL', wake_key) end
local now = tonumber(now_text)
most_changes_kept = tonumber(most_changes_kept)
local exclusive = split_set(exclusive_csv)
local exclusive_list = {}
for channel in pairs(exclusive) do exclusive_list[#exclusive_list + 1] = channel end
local rules_ok = (redis.call('GET', rules_key) or '0') == planned_version
local HEAD_KEYS, HEAD_ARGS, OFFER_KEYS, OFFER_ARGS = 6, 7, 5, 9

-- Mirror of ccaas.domain.eligibility.has_room, in its order. `limit` is the agent's limit on
-- the channel as ccaas.domain.eligibility.capacity_limit gives it (the agent's own, else the
-- channel default; 0 for a channel it does not name, which is never taken).
local function has_room(counts, total, channel, limit, exclusive, max_total)
  if exclusive[channel] and total > 0 then return false end
  for held, n in pairs(counts) do
    if n > 0 and exclusive[held] then return false end
  end
  if max_total > 0 and total >= max_total then return false end
  return (counts[channel] or 0) < limit
end

-- A JSON object decoded once per text in a batch (its offers share a few skill sets), and an
-- empty one (or none) not at all: most contacts were never rejected. The result is only read.
local NOTHING = {}
local decoded_texts = {}
local function decoded(json)
  if json == nil or json == false or json == '{}' then return NOTHING end
  local value = decoded_texts[json]
  if value == nil then
    value = cjson.decode(json)
    decoded_texts[json] = value
  end
  return value
end

-- The offer whose KEYS start at `k` and whose ARGV start at `a`.
local function claim(k, a)
  local contact_key, waiting_key, arrivals_key, agent_key, work_key = unpack(KEYS, k, k + 4)
  local contact_id, planned_queue, agent_id, expires, revision, delay, limit, max_total,
    cooldown = unpack(ARGV, a, a + 8)
  if not rules_ok then return {'refused', 'rules_changed'} end
  local state, queue, channel, skills, offer_count, queue_since, preferred, preferred_until,
    rejected_by = unpack(redis.call('HMGET', contact_key, 'state', 'queue', 'channel', 'skills',
      'offer_count', 'queue_since', 'preferred_agent', 'preferred_until', 'rejected_by'))
  -- a waiting contact is in its queue's waiting zset (every script keeps it so)
  if state ~= 'queued' or queue ~= planned_queue then
    return {'refused', 'contact_not_waiting'}
  end
  local agent_fields = {'presence', 'rev', 'skills', 'next_presence', HELD, held_on(channel)}
  for _, held in ipairs(exclusive_list) do agent_fields[#agent_fields + 1] = held_on(held) end
  local agent_values = redis.call('HMGET', agent_key, unpack(agent_fields))
  local presence, agent_revision, agent_skills, next_presence = agent_values[1],
    agent_values[2], agent_values[3], agent_values[4]
  -- an agent leaving when its work ends takes no new work (see take_next_presence)
  if presence ~= 'available' or (next_presence and next_presence ~= '') then
    return {'refused', 'agent_not_available'}
  end
  if (agent_revision or '0') ~= revision then return {'refused', 'agent_changed'} end
  delay = tonumber(delay)
  if delay < 0 then return {'refused', 'agent_not_in_queue'} end
  preferred = preferred or ''
  if preferred ~= '' and preferred ~= agent_id and now < (tonumber(preferred_until) or 0) then
    return {'refused', 'held_for_preferred_agent'}
  end
  if delay > 0 and now - (tonumber(queue_since) or 0) < delay then
    return {'refused', 'queue_delay_not_reached'}
  end
  local required = decoded(skills)
  if next(required) ~= nil and not has_skills(decoded(agent_skills), required) then
    return {'refused', 'missing_skill'}
  end
  -- the counts the agent hash keeps (see HELD in _lib.lua) when they add up to its work
  -- hash's length (one O(1) call), else its work hash counted
  local counts, total, counted = {}, tonumber(agent_values[5]), false
  if total and total == redis.call('HLEN', work_key) then
    for i = 6, #agent_fields do
      counts[string.sub(agent_fields[i], 6)] = tonumber(agent_values[i]) or 0
    end
  else
    counts, total = work_counts(work_key)
    counted = true
  end
  if not has_room(counts, total, channel, tonumber(limit), exclusive, tonumber(max_total)) then
    return {'refused', 'no_capacity'}
  end
  -- mirror of ccaas.domain.eligibility.rejected_recently
  local rejected_at = tonumber(decoded(rejected_by)[agent_id])
  if rejected_at and now - rejected_at < tonumber(cooldown) then
    return {'refused', 'rejected_recently'}
  end
  local attempt = string.format('%d', tonumber(offer_count) + 1)
  local offer_id = contact_id .. '.' .. attempt .. '.' .. token
  redis.call('HSET', contact_key, 'state', 'offered', 'agent_id', agent_id, 'offer_id', offer_id,
    'offer_count', attempt, 'offered_at', now_text, 'offer_expires_at', expires)
  redis.call('ZREM', waiting_key, contact_id)
  redis.call('ZREM', arrivals_key, contact_id)
  redis.call('HSET', work_key, contact_id, work_entry('offered', channel))
  local agent_writes = {'idle_since', now_text, 'last_offer:' .. queue, now_text}
  if counted then
    -- a channel the agent holds nothing on now keeps no count from before
    for _, field in ipairs(redis.call('HKEYS', agent_key)) do
      if string.sub(field, 1, 5) == 'held:' and not counts[string.sub(field, 6)] then
        agent_writes[#agent_writes + 1] = field
        agent_writes[#agent_writes + 1] = '0'
      end
    end
    for held, n in pairs(counts) do
      agent_writes[#agent_writes + 1] = held_on(held)
      agent_writes[#agent_writes + 1] = string.format('%d', n)
    end
  end
  agent_writes[#agent_writes + 1] = HELD
  agent_writes[#agent_writes + 1] = string.format('%d', total + 1)
  agent_writes[#agent_writes + 1] = held_on(channel)
  agent_writes[#agent_writes + 1] = string.format('%d', (counts[channel] or 0) + 1)
  redis.call('HSET', agent_key, unpack(agent_writes))
  redis.call('ZADD', deadlines_key, expires, offer_id)
  local before = tonumber(redis.call('ZSCORE', agent_changes_key, agent_id)) or 0
  local after = touch(agent_changes_key, agent_id)
  local contact_change = touch(contact_changes_key, contact_id)  -- trimmed at the end
  emit(events_key, 'contact_offered', now_text, 'contact', contact_id, 'agent', agent_id,
    'queue', queue, 'channel', channel, 'offer', offer_id, 'router', router)
  return {'ok', offer_id, before, after, contact_change}
end

local out, made = {}, false
for i = 0, (#ARGV - HEAD_ARGS) / OFFER_ARGS - 1 do
  local reply = claim(HEAD_KEYS + 1 + OFFER_KEYS * i, HEAD_ARGS + 1 + OFFER_ARGS * i)
  made = made or reply[1] == 'ok'
  out[#out + 1] = reply
end
if made then trim_changes(contact_changes_key, most_changes_kept) end
return out
