-- mark_delivery: an adapter reports how far an agent's message got. States only move
-- forward (queued -> sent -> delivered -> read); failed ends a message not yet delivered. A
-- report that would move back (a late "sent" after "delivered") or repeats the state changes
-- nothing, so receipts may arrive twice and out of order.
-- KEYS[1] contact hash  KEYS[2] its message marks hash  KEYS[3] events stream
-- ARGV[1] contact id  ARGV[2] message id  ARGV[3] state: sent | delivered | read | failed
-- ARGV[4] reason (for failed; else ""; the adapter's words, such as the provider's error,
--   never the message's text)  ARGV[5] now (ms)
-- Returns {"ok", state now, "1" changed | "0" unchanged} or {"refused", reason}:
-- "no_contact", "no_message" (no agent message of that id on the contact).
local contact_key, marks_key, events_key = unpack(KEYS, 1, 3)
local contact_id, message_id, state, reason, now = unpack(ARGV, 1, 5)
local RANK = {queued = 0, sent = 1, delivered = 2, read = 3}
if redis.call('EXISTS', contact_key) == 0 then return {'refused', 'no_contact'} end
local known = redis.call('HGET', marks_key, 'delivery:' .. message_id)
if not known then return {'refused', 'no_message'} end
local current = cjson.decode(known)
local was = current.state
local moves
if was == 'failed' then
  moves = false
elseif state == 'failed' then
  moves = RANK[was] < RANK.delivered
else
  moves = RANK[state] > RANK[was]
end
if not moves then return {'ok', was, '0'} end
local entry = {state = state, at = tonumber(now)}
if state == 'failed' then entry.reason = reason end
redis.call('HSET', marks_key, 'delivery:' .. message_id, cjson.encode(entry))
local holder = redis.call('HGET', contact_key, 'agent_id') or ''
-- the reason stays in the marks (erased with the contact): a provider's words may name the
-- customer (a refused address), and the event stream is never erased
emit(events_key, 'message_delivery', now, 'contact', contact_id, 'agent', holder,
  'message', message_id, 'state', state)
return {'ok', state, '1'}
