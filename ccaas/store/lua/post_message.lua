-- post_message: a message joins a contact's conversation. The customer's side (an adapter)
-- may write while the contact waits, rings or is held; an agent only to a contact connected
-- to it (or in its wrap-up), and its message also waits in the channel's outbound stream for
-- the adapter to deliver (the message keeps that entry's id, so an erasure removes both).
-- The conversation keeps the newest ARGV[6] messages. The event names the contact, the agent
-- holding it and the message, never the text (the event stream is not erased).
-- KEYS[1] contact hash  KEYS[2] its messages stream  KEYS[3] the channel's outbound stream
-- KEYS[4] events stream
-- ARGV[1] contact id  ARGV[2] from: "customer" | "agent" | "system"  ARGV[3] agent id (for
--   "agent"; else "")  ARGV[4] text  ARGV[5] now (ms)  ARGV[6] most messages kept
-- Returns {"ok", message id, the agent holding the contact or ""} or {"refused", reason}:
-- "no_contact", "customer_erased", "voice" (a call has no conversation), "ended" (completed
-- or abandoned), "not_connected" (an agent's message to a contact it does not hold).
local contact_key, messages_key, outbound_key, events_key = unpack(KEYS, 1, 4)
local contact_id, sender, agent_id, text, now, most_kept = unpack(ARGV, 1, 6)
local state, channel, holder, erased, external_id = unpack(redis.call('HMGET', contact_key,
  'state', 'channel', 'agent_id', 'erased_at', 'external_id'))
if not state then return {'refused', 'no_contact'} end
holder = holder or ''
if state == 'queued' then holder = '' end  -- an agent_id left from an ended offer
-- an agent learns nothing of a contact it does not hold: that refusal comes first
if sender == 'agent' and (holder ~= agent_id or (state ~= 'connected' and state ~= 'wrap_up'))
then
  return {'refused', 'not_connected'}
end
if erased then return {'refused', 'customer_erased'} end
if channel == 'voice' then return {'refused', 'voice'} end
if state == 'completed' or state == 'abandoned' then return {'refused', 'ended'} end
local fields = {'from', sender, 'text', text, 'at', now}
if sender == 'agent' then
  local outbound_id = redis.call('XADD', outbound_key, '*', 'contact', contact_id,
    'external_id', external_id or '', 'agent', agent_id, 'text', text, 'at', now)
  fields[#fields + 1] = 'agent'
  fields[#fields + 1] = agent_id
  fields[#fields + 1] = 'outbound'
  fields[#fields + 1] = outbound_id
end
local message_id = redis.call('XADD', messages_key, 'MAXLEN', most_kept, '*', unpack(fields))
emit(events_key, 'message_posted', now, 'contact', contact_id, 'agent', holder,
  'message', message_id, 'from', sender, 'channel', channel)
return {'ok', message_id, holder}
