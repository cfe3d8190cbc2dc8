-- requeue_offer: an offer ends without acceptance (rejected, rang out, or withdrawn because the
-- agent left); the contact waits again in its old place (its original score and arrival time).
-- Only the agent the offer rings for can reject it. The ended offer is kept on the contact, so
-- rejecting again an offer this agent already rejected changes nothing and answers ok.
-- A ring-out counts as a missed offer; after ARGV[6] in a row the agent is set away("no answer").
-- A reject is recorded on the contact (rejected_by: JSON agent -> time, keeping only rejects
-- younger than the cooldown ARGV[8], at most 50) so routers pass the agent over for the
-- cooldown; a reject by the agent the contact is held for ends the hold. The contact waits
-- again, so it is bumped in the contact changes zset, where routers learn what they must
-- read again.
-- KEYS[1] contact hash  KEYS[2] queue waiting zset  KEYS[3] queue arrivals zset
-- KEYS[4] agent hash    KEYS[5] agent work hash     KEYS[6] offer deadlines zset
-- KEYS[7] agents available set  KEYS[8] agent changes  KEYS[9] events  KEYS[10] wake flag
-- KEYS[11] contact changes zset
-- ARGV[1] offer id  ARGV[2] contact id  ARGV[3] agent id  ARGV[4] now (ms)
-- ARGV[5] why: "rejected" | "timed_out" | "withdrawn"   ARGV[6] missed offers before away
-- ARGV[7] wake channel  ARGV[8] the queue's reject cooldown (ms)
-- ARGV[9] most entries kept in the contact changes zset
-- Returns {"ok", agent presence after, "ended" | "again"} or {"refused", reason}.
local contact_key, waiting_key, arrivals_key, agent_key, work_key, deadlines_key,
  available_key, agent_changes_key, events_key, wake_key, contact_changes_key =
  unpack(KEYS, 1, 11)
local offer_id, contact_id, agent_id, now, why, missed_before_away, wake_channel, cooldown,
  most_changes_kept = unpack(ARGV, 1, 9)
local state, pending_offer, offered_to, score, first_enqueued, expires, queue, channel,
  ended_offer, ended_agent, ended_why, rejected_by, preferred, preferred_until =
  unpack(redis.call('HMGET', contact_key, 'state', 'offer_id', 'agent_id', 'score',
    'first_enqueued_at', 'offer_expires_at', 'queue', 'channel', 'ended_offer_id',
    'ended_offer_agent_id', 'ended_offer_reason', 'rejected_by', 'preferred_agent',
    'preferred_until'))
if state ~= 'offered' or pending_offer ~= offer_id or offered_to ~= agent_id then
  if why == 'rejected' and ended_offer == offer_id and ended_agent == agent_id
      and ended_why == 'rejected' then
    return {'ok', redis.call('HGET', agent_key, 'presence') or '', 'again'}
  end
  return {'refused', offer_refusal(contact_key, offer_id)}
end
if why == 'timed_out' and tonumber(now) < tonumber(expires) then
  return {'refused', 'offer_not_due'}
end
redis.call('HSET', contact_key, 'state', 'queued', 'agent_id', '', 'offer_id', '',
  'enqueued_at', now, 'ended_offer_id', offer_id, 'ended_offer_agent_id', agent_id,
  'ended_offer_reason', why)
redis.call('ZADD', waiting_key, score, contact_id)
redis.call('ZADD', arrivals_key, first_enqueued, contact_id)
redis.call('ZREM', deadlines_key, offer_id)
release(work_key, agent_key, contact_id, now)
if why == 'rejected' then
  local kept, recent = {}, {}
  for other, at in pairs(cjson.decode(rejected_by or '{}')) do
    if other ~= agent_id and tonumber(now) - tonumber(at) < tonumber(cooldown) then
      recent[#recent + 1] = {other, tonumber(at)}
    end
  end
  table.sort(recent, function(x, y) return x[2] > y[2] end)
  for i = 1, math.min(#recent, 49) do kept[recent[i][1]] = recent[i][2] end
  kept[agent_id] = tonumber(now)
  redis.call('HSET', contact_key, 'rejected_by', cjson.encode(kept))
  if preferred == agent_id and tonumber(now) < (tonumber(preferred_until) or 0) then
    redis.call('HSET', contact_key, 'preferred_until', now)
  end
end
touch(contact_changes_key, contact_id, tonumber(most_changes_kept))
emit(events_key, 'offer_' .. why, now, 'contact', contact_id, 'agent', agent_id,
  'queue', queue, 'channel', channel, 'offer', offer_id)
local presence = redis.call('HGET', agent_key, 'presence')
if why == 'timed_out' then
  local missed = redis.call('HINCRBY', agent_key, 'missed', 1)
  if missed >= tonumber(missed_before_away) and presence == 'available' then
    presence = 'away'
    redis.call('HSET', agent_key, 'presence', 'away', 'away_reason', 'no answer')
    redis.call('SREM', available_key, agent_id)
    emit(events_key, 'agent_presence', now, 'agent', agent_id, 'presence', 'away',
      'reason', 'no answer')
  end
end
touch(agent_changes_key, agent_id)
wake(wake_key, wake_channel)
return {'ok', presence, 'ended'}
