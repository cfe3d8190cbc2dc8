-- abandon: the customer leaves. A contact waiting or ringing is abandoned (an open offer is
-- withdrawn). One an agent is connected to or wrapping up stays the agent's to complete: it
-- is marked customer_left_at and the agent is told (event customer_left); again: unchanged.
-- KEYS[1] contact hash  KEYS[2] queue waiting zset  KEYS[3] queue arrivals zset
-- KEYS[4] agent hash    KEYS[5] agent work hash     KEYS[6] offer deadlines zset
-- KEYS[7] agent changes  KEYS[8] events  KEYS[9] wake flag  KEYS[10] contact changes zset
-- KEYS[11] callbacks due zset (a scheduled callback abandoned leaves it)
-- ARGV[1] contact id  ARGV[2] agent id the caller read ("" if none)  ARGV[3] now (ms)
-- ARGV[4] wake channel  ARGV[5] the queue the caller read (its zsets are KEYS[2], KEYS[3])
-- ARGV[6] most contact changes kept
-- Returns {"ok", state before} or {"refused", reason}; "stale_agent" and "stale_queue" mean
-- the contact moved since the caller read it (read again and retry).
local contact_key, waiting_key, arrivals_key, agent_key, work_key, deadlines_key,
  agent_changes_key, events_key, wake_key, contact_changes_key, due_key = unpack(KEYS, 1, 11)
local contact_id, caller_agent, now, wake_channel, caller_queue, most_changes_kept =
  unpack(ARGV, 1, 6)
local state, agent_id, offer_id, queue, channel = unpack(redis.call('HMGET', contact_key,
  'state', 'agent_id', 'offer_id', 'queue', 'channel'))
if state == 'connected' or state == 'wrap_up' then
  if agent_id ~= caller_agent then return {'refused', 'stale_agent'} end
  if redis.call('HEXISTS', contact_key, 'customer_left_at') == 0 then
    redis.call('HSET', contact_key, 'customer_left_at', now)
    emit(events_key, 'customer_left', now, 'contact', contact_id, 'agent', agent_id,
      'queue', queue, 'channel', channel, 'was', state)
  end
  return {'ok', state}
end
if state ~= 'queued' and state ~= 'offered' and state ~= 'scheduled' then
  return {'refused', 'not_waiting'}
end
if queue ~= caller_queue then return {'refused', 'stale_queue'} end
if state == 'offered' then
  if agent_id ~= caller_agent then return {'refused', 'stale_agent'} end
  redis.call('ZREM', deadlines_key, offer_id)
  release(work_key, agent_key, contact_id, now)
  touch(agent_changes_key, caller_agent)
  wake(wake_key, wake_channel)
end
redis.call('ZREM', waiting_key, contact_id)
redis.call('ZREM', arrivals_key, contact_id)
redis.call('ZREM', due_key, contact_id)
redis.call('HSET', contact_key, 'state', 'abandoned', 'abandoned_at', now, 'offer_id', '')
touch(contact_changes_key, contact_id, tonumber(most_changes_kept))
emit(events_key, 'contact_abandoned', now, 'contact', contact_id, 'agent', agent_id or '',
  'queue', queue, 'channel', channel, 'was', state,
  'offer', state == 'offered' and offer_id or '')
return {'ok', state}
