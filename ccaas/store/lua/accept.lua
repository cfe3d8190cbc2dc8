-- accept: the agent takes the offer ringing for it; the contact is connected. Only the agent
-- the offer rings for can accept it. Accepting again an offer this agent already accepted
-- changes nothing and answers ok, so a caller that lost the answer can safely retry.
-- KEYS[1] contact hash  KEYS[2] agent hash  KEYS[3] agent work hash  KEYS[4] offer deadlines
-- KEYS[5] agent changes zset               KEYS[6] events stream
-- KEYS[7] the contact's customer hash (its last_agent becomes this agent, last_agent_at now;
--   "-" if none)  KEYS[8] the customer's agents set (this agent joins it: it may read the
--   customer's context from now on)
-- ARGV[1] offer id  ARGV[2] contact id  ARGV[3] agent id  ARGV[4] now (ms)
-- Returns {"ok", "accepted" | "again"} or {"refused", "offer_not_pending" | "no_such_offer"}.
local contact_key, agent_key, work_key, deadlines_key, agent_changes_key, events_key,
  customer_key, customer_agents_key = unpack(KEYS, 1, 8)
local offer_id, contact_id, agent_id, now = unpack(ARGV, 1, 4)
local state, pending_offer, offered_to, channel, queue = unpack(redis.call('HMGET',
  contact_key, 'state', 'offer_id', 'agent_id', 'channel', 'queue'))
if pending_offer ~= offer_id or offered_to ~= agent_id then
  return {'refused', offer_refusal(contact_key, offer_id)}
end
if state == 'connected' or state == 'wrap_up' or state == 'completed' then
  return {'ok', 'again'}
end
if state ~= 'offered' then return {'refused', offer_refusal(contact_key, offer_id)} end
redis.call('HSET', contact_key, 'state', 'connected', 'connected_at', now)
redis.call('HSET', work_key, contact_id, work_entry('connected', channel))
redis.call('ZREM', deadlines_key, offer_id)
redis.call('HSET', agent_key, 'missed', 0)
if customer_is_live(customer_key) then
  redis.call('HSET', customer_key, 'last_agent', agent_id, 'last_agent_at', now)
  redis.call('SADD', customer_agents_key, agent_id)
end
touch(agent_changes_key, agent_id)
emit(events_key, 'contact_connected', now, 'contact', contact_id, 'agent', agent_id,
  'queue', queue, 'channel', channel, 'offer', offer_id)
return {'ok', 'accepted'}
