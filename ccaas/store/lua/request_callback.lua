-- request_callback: a waiting customer asks to be called back instead of holding on. The
-- contact keeps waiting where it is (its score and queue are untouched): only it is marked
-- a callback to this number, so the agent it is offered to calls the customer back, and
-- the customer leaving the line (a call's status callback) does not abandon it. One active
-- callback per number per queue: while an earlier contact's callback to the number still
-- waits, rings or is held, that contact is returned and this one is not marked.
-- KEYS[1] contact hash  KEYS[2] callbacks hash ("queue|number" -> contact id)
-- KEYS[3] events stream  KEYS[4] the hash of the contact the callbacks hash named for the
--   number when the caller read it (this contact's own hash if none)
-- ARGV[1] contact id  ARGV[2] number (E.164)  ARGV[3] now (ms)  ARGV[4] the contact id the
--   caller read from the callbacks hash ("" none)
-- Returns {"ok", the callback's contact id, "1" marked now | "0" it was already} or
-- {"refused", reason}: "no_contact", "not_waiting" (it rings, is held or ended),
-- "customer_erased", "changed" (the callbacks hash names another contact now: read again).
local contact_key, callbacks_key, events_key, earlier_key = unpack(KEYS, 1, 4)
local contact_id, number, now, earlier_read = unpack(ARGV, 1, 4)
local state, queue, channel, erased, marked = unpack(redis.call('HMGET', contact_key, 'state',
  'queue', 'channel', 'erased_at', 'callback_number'))
if not state then return {'refused', 'no_contact'} end
local slot = queue .. '|' .. number
local earlier = redis.call('HGET', callbacks_key, slot) or ''
if earlier ~= earlier_read then return {'refused', 'changed'} end
if earlier ~= '' and earlier ~= contact_id then
  local earlier_state, earlier_number, earlier_queue = unpack(redis.call('HMGET', earlier_key,
    'state', 'callback_number', 'queue'))
  if earlier_number == number and earlier_queue == queue and (earlier_state == 'queued' or earlier_state == 'offered'
      or earlier_state == 'connected' or earlier_state == 'wrap_up') then
    return {'ok', earlier, '0'}
  end
end
if marked and marked ~= '' then return {'ok', contact_id, '0'} end
if erased then return {'refused', 'customer_erased'} end
if state ~= 'queued' then return {'refused', 'not_waiting'} end
redis.call('HSET', contact_key, 'callback_number', number, 'callback_queue', queue,
  'callback_requested_at', now, 'callback_attempts', 0)
redis.call('HSET', callbacks_key, slot, contact_id)
emit(events_key, 'callback_requested', now, 'contact', contact_id, 'queue', queue,
  'channel', channel)
return {'ok', contact_id, '1'}
