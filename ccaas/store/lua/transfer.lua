-- transfer: the agent holding a connected contact passes it on, cold. The contact waits
-- again, in the queue given, with its first arrival time (its place is by that time) and its
-- history; for a named agent it is held for that agent until ARGV[7] (the router offers it
-- to that agent first). The agent is freed; the transfer is recorded on the contact (its
-- customer's timeline shows it).
-- KEYS[1] contact hash  KEYS[2] agent hash  KEYS[3] agent work hash
-- KEYS[4] target queue waiting zset  KEYS[5] target queue arrivals zset
-- KEYS[6] agent changes zset  KEYS[7] contact changes zset  KEYS[8] events  KEYS[9] wake flag
-- KEYS[10] agents available set (an agent left with no work may take its next presence)
-- ARGV[1] contact id  ARGV[2] agent id  ARGV[3] target queue  ARGV[4] order score there
-- ARGV[5] now (ms)  ARGV[6] the agent it is held for ("" none)  ARGV[7] held until (ms)
-- ARGV[8] note  ARGV[9] wake channel  ARGV[10] most contact changes kept
-- Returns {"ok"} or {"refused", "not_connected"} (not connected to this agent).
local contact_key, agent_key, work_key, waiting_key, arrivals_key, agent_changes_key,
  contact_changes_key, events_key, wake_key, available_key = unpack(KEYS, 1, 10)
local contact_id, agent_id, queue, score, now, to_agent, held_until, note, wake_channel,
  most_changes_kept = unpack(ARGV, 1, 10)
local state, holder, from_queue, first_enqueued, channel, transfers = unpack(redis.call(
  'HMGET', contact_key, 'state', 'agent_id', 'queue', 'first_enqueued_at', 'channel',
  'transfers'))
if state ~= 'connected' or holder ~= agent_id then return {'refused', 'not_connected'} end
local done = cjson.decode(transfers or '[]')
done[#done + 1] = {at = tonumber(now), from_agent = agent_id, from_queue = from_queue,
  to_queue = queue, to_agent = to_agent, note = note}
redis.call('HSET', contact_key, 'state', 'queued', 'queue', queue, 'score', score,
  'queue_since', now, 'enqueued_at', now, 'agent_id', '', 'offer_id', '',
  'preferred_agent', to_agent, 'preferred_until', to_agent ~= '' and held_until or '0',
  'transfers', cjson.encode(done))
redis.call('HDEL', contact_key, 'connected_at')
redis.call('ZADD', waiting_key, score, contact_id)
redis.call('ZADD', arrivals_key, first_enqueued or now, contact_id)
release(work_key, agent_key, contact_id, now)
take_next_presence(agent_key, work_key, available_key, events_key, agent_id, now)
touch(agent_changes_key, agent_id)
touch(contact_changes_key, contact_id, tonumber(most_changes_kept))
emit(events_key, 'contact_transferred', now, 'contact', contact_id, 'agent', agent_id,
  'queue', queue, 'from_queue', from_queue, 'to_agent', to_agent, 'channel', channel)
wake(wake_key, wake_channel)
return {'ok'}
