-- claim: commit a batch of planned offers. Each offer is re-checked on its own: the rules
-- version and the agent's profile revision must be those the router planned with (so the
-- router's reading of queues, capacity and delays still holds), the contact must still wait
-- in that queue, and the agent must still be eligible, checked in the order of
-- ccaas.domain.eligibility.ineligibility so the first reason is the same: available, serving
-- the contact's queue, not held off by a preferred agent, past the queue delay, with the
-- skills and with room; otherwise that offer is refused and changes nothing.
-- KEYS[1] offer deadlines zset  KEYS[2] agent changes zset  KEYS[3] events stream
-- KEYS[4] rules active version
-- then for offer i = 0..n-1, KEYS[5+5i .. 9+5i]:
--   contact hash, queue waiting zset, queue arrivals zset, agent hash, agent work hash
-- ARGV[1] now (ms)  ARGV[2] exclusive channels, comma separated  ARGV[3] router name
-- ARGV[4] rules version planned with
-- then for offer i, ARGV[5+7i .. 11+7i]: contact id, agent id, offer timeout (ms),
--   agent profile revision, JSON {queue: delay ms} of the queues the agent serves,
--   JSON {channel: limit} for every channel, max total (0: none)
-- Returns a flat list, four entries per offer: "ok", offer id, the agent's change sequence
-- before and after; or "refused", reason, 0, 0.
local now = tonumber(ARGV[1])
local exclusive = split_set(ARGV[2])
local out = {}
local rules_ok = (redis.call('GET', KEYS[4]) or '0') == ARGV[4]

local function claim(contact_key, waiting_key, arrivals_key, agent_key, work_key, contact_id,
                     agent_id, timeout, revision, delays, capacity, max_total)
  if not rules_ok then return 'refused', 'rules_changed' end
  local contact = redis.call('HMGET', contact_key, 'state', 'queue', 'channel', 'skills',
    'offer_count', 'queue_since', 'preferred_agent', 'preferred_until')
  if contact[1] ~= 'queued' or not redis.call('ZSCORE', waiting_key, contact_id) then
    return 'refused', 'contact_not_waiting'
  end
  local agent = redis.call('HMGET', agent_key, 'presence', 'rev', 'skills')
  if agent[1] ~= 'available' then return 'refused', 'agent_not_available' end
  if (agent[2] or '0') ~= revision then return 'refused', 'agent_changed' end
  local queue, channel = contact[2], contact[3]
  local delay = cjson.decode(delays)[queue]
  if delay == nil then return 'refused', 'agent_not_in_queue' end
  local preferred = contact[7] or ''
  if preferred ~= '' and preferred ~= agent_id and now < (tonumber(contact[8]) or 0) then
    return 'refused', 'held_for_preferred_agent'
  end
  if delay > 0 and now - (tonumber(contact[6]) or 0) < delay then
    return 'refused', 'queue_delay_not_reached'
  end
  if not has_skills(cjson.decode(agent[3]), cjson.decode(contact[4] or '{}')) then
    return 'refused', 'missing_skill'
  end
  local counts, total = work_counts(work_key)
  if not has_room(counts, total, channel, cjson.decode(capacity), exclusive, max_total) then
    return 'refused', 'no_capacity'
  end
  local attempt = tonumber(contact[5]) + 1
  local offer = contact_id .. '.' .. attempt
  local expires = now + timeout
  redis.call('HSET', contact_key, 'state', 'offered', 'agent_id', agent_id, 'offer_id', offer,
    'offer_count', attempt, 'offered_at', now, 'offer_expires_at', expires)
  redis.call('ZREM', waiting_key, contact_id)
  redis.call('ZREM', arrivals_key, contact_id)
  redis.call('HSET', work_key, contact_id, 'offered:' .. channel)
  redis.call('HSET', agent_key, 'idle_since', now, 'last_offer:' .. queue, now)
  redis.call('ZADD', KEYS[1], expires, offer)
  local seq = touch(KEYS[2], agent_id)
  emit(KEYS[3], 'contact_offered', now, 'contact', contact_id, 'agent', agent_id,
    'queue', queue, 'channel', channel, 'offer', offer, 'router', ARGV[3])
  return 'ok', offer, seq
end

for i = 0, (#ARGV - 4) / 7 - 1 do
  local k, a = 5 + 5 * i, 5 + 7 * i
  local status, detail, seq = claim(KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3],
    KEYS[k + 4], ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3],
    ARGV[a + 4], ARGV[a + 5], tonumber(ARGV[a + 6]))
  seq = seq or {0, 0}
  out[#out + 1] = status
  out[#out + 1] = detail
  out[#out + 1] = seq[1]
  out[#out + 1] = seq[2]
end
return out
