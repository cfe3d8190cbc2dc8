-- post_message: a message joins a contact's conversation. The customer's side (an adapter)
-- may write while the contact waits, rings or is held; an agent only to a contact connected
-- to it (or in its wrap-up), and its message also waits in the channel's outbound stream for
-- the adapter to deliver (the marks keep that entry's id, so an erasure removes both).
-- The conversation keeps the newest ARGV[6] messages. The event names the contact, the agent
-- holding it and the message, never the text (the event stream is not erased).
-- A message carrying the adapter's own id (ARGV[7]) that was added before is not added
-- again: the first one's id is returned. An agent's message starts "queued" for delivery.
-- KEYS[1] contact hash  KEYS[2] its messages stream  KEYS[3] the channel's outbound stream
-- KEYS[4] events stream  KEYS[5] the contact's message marks hash
-- ARGV[1] contact id  ARGV[2] from: "customer" | "agent" | "system"  ARGV[3] agent id (for
--   "agent"; else "")  ARGV[4] text  ARGV[5] now (ms)  ARGV[6] most messages kept
--   ARGV[7] the adapter's id of the message ("" for none)  ARGV[8] "1": an agent's message
--   waits in the outbound stream; "0": the channel hands it on from the event (web chat)
--   ARGV[9] when the customer wrote it (ms; "0": now): a message a provider delivers late
--   does not move last_customer_at past it, nor back
-- Returns {"ok", message id, the agent holding the contact or "", "1" added | "0" it was
-- there} or {"refused", reason}:
-- "no_contact", "customer_erased", "voice" (a call has no conversation), "ended" (completed
-- or abandoned), "not_connected" (an agent's message to a contact it does not hold),
-- "reply_window_closed" (the provider takes an agent's message only within the contact's
-- reply_window_seconds of the customer's last message; then also when that was, ms).
-- A customer's message records when the customer last wrote (last_customer_at).
local contact_key, messages_key, outbound_key, events_key, marks_key = unpack(KEYS, 1, 5)
local contact_id, sender, agent_id, text, now, most_kept, reference, to_outbound,
  written_at = unpack(ARGV, 1, 9)
local state, channel, holder, erased, external_id, window, last_customer = unpack(
  redis.call('HMGET', contact_key, 'state', 'channel', 'agent_id', 'erased_at', 'external_id',
  'reply_window_seconds', 'last_customer_at'))
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
if reference ~= '' then
  local earlier = redis.call('HGET', marks_key, 'ref:' .. reference)
  if earlier then return {'ok', earlier, holder, '0'} end
end
if state == 'completed' or state == 'abandoned' then return {'refused', 'ended'} end
window = tonumber(window or '0') or 0
if sender == 'agent' and window > 0
    and tonumber(now) - tonumber(last_customer or '0') > window * 1000 then
  return {'refused', 'reply_window_closed', last_customer or '0'}
end
if sender == 'customer' then
  local wrote = tonumber(written_at) or 0
  if wrote <= 0 or wrote > tonumber(now) then wrote = tonumber(now) end
  if wrote > (tonumber(last_customer) or 0) then
    redis.call('HSET', contact_key, 'last_customer_at', string.format('%d', wrote))
  end
end
local fields = {'from', sender, 'text', text, 'at', now}
if sender == 'agent' then
  fields[#fields + 1] = 'agent'
  fields[#fields + 1] = agent_id
end
local message_id = redis.call('XADD', messages_key, 'MAXLEN', most_kept, '*', unpack(fields))
if reference ~= '' then redis.call('HSET', marks_key, 'ref:' .. reference, message_id) end
if sender == 'agent' and to_outbound == '1' then
  local outbound_id = redis.call('XADD', outbound_key, '*', 'contact', contact_id,
    'message', message_id, 'external_id', external_id or '', 'agent', agent_id, 'text', text,
    'at', now)
  redis.call('HSET', marks_key, 'delivery:' .. message_id,
    cjson.encode({state = 'queued', at = tonumber(now)}), 'outbound:' .. message_id, outbound_id)
elseif sender == 'agent' then
  redis.call('HSET', marks_key, 'delivery:' .. message_id,
    cjson.encode({state = 'queued', at = tonumber(now)}))
end
emit(events_key, 'message_posted', now, 'contact', contact_id, 'agent', holder,
  'message', message_id, 'from', sender, 'channel', channel)
return {'ok', message_id, holder, '1'}
