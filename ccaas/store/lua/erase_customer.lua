-- erase_customer: remove a customer's personal data and identities for good, and every link
-- from what remains to them. The profile, identities and timeline are deleted, and so are
-- the tombstones of the customers merged into this one (they held its id); nothing keeps
-- the customer's id. Each of the customer's contacts loses the customer's details, the
-- collected context, the notes, the channel's own id, the body, the customer id and what
-- would tie it to the person or to their other contacts (priority terms, tags, repeat_of,
-- preferred agent), and is marked erased_at: from then on it takes no new personal data
-- (complete, attach_body). A waiting contact loses its hold for the preferred agent, so it
-- is bumped in the contact changes zset (routers read it again) and routers are woken.
-- KEYS[1] identity index  KEYS[2] external-ids hash  KEYS[3] customer hash
-- KEYS[4] customer identities set  KEYS[5] customer timeline  KEYS[6] events
-- KEYS[7] erasures pending counter (the rewrite of the files on disk reads it)
-- KEYS[8] contact changes zset  KEYS[9] wake flag  KEYS[10] the customer's agents set
-- KEYS[11] callbacks hash (a contact's callback number goes from it too)
-- KEYS[12] conversations hash (a native channel's contact for the customer's address)
-- KEYS[13..12+c]: the outbound stream of each route ARGV[6] names, in that order (a route is
--   a channel, or the native channel a contact's delivered_by names)
-- ARGV[1] customer id  ARGV[2] now (ms)  ARGV[3] how many merged tombstones follow
-- ARGV[4] most contact changes kept  ARGV[5] wake channel  ARGV[6] the routes, comma
--   separated, whose outbound streams follow KEYS[12]
-- then the tombstone hash of each customer in merged_from (as the caller read it), then for
--   every contact on the timeline (as the caller read it), its hash, its body key, its
--   messages stream and its message marks, in fours. Its messages and marks go, and so do
--   the entries its agents' messages left in the outbound streams (not yet delivered, they
--   would carry the text on)
-- Returns {"ok", contacts scrubbed} or {"refused", reason} ("changed": read again).
local index_key, external_ids_key, customer_key, identities_key, timeline_key, events_key,
  erasures_key, contact_changes_key, wake_key, agents_key, callbacks_key, conversations_key =
  unpack(KEYS, 1, 12)
local customer_id, now, merged_count, most_changes_kept, wake_channel, channels_csv =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
-- an index entry (its field holds the customer's address) goes if it still names this contact
local function forget_if_names(hash, field, contact_id)
  if redis.call('HGET', hash, field) == contact_id then redis.call('HDEL', hash, field) end
end
local outbound_of, HEAD_KEYS = {}, 12
for channel in string.gmatch(channels_csv, '[^,]+') do
  HEAD_KEYS = HEAD_KEYS + 1
  outbound_of[channel] = KEYS[HEAD_KEYS]
end
local status = customer_status(customer_key)
if status == 'missing' then return {'refused', 'no_customer'} end
if status == 'erased' then return {'refused', 'erased'} end
if status == 'merged' then return {'refused', 'merged'} end
local merged_from = cjson.decode(redis.call('HGET', customer_key, 'merged_from') or '[]')
local first_contact = HEAD_KEYS + merged_count + 1
if #merged_from ~= merged_count
    or redis.call('ZCARD', timeline_key) ~= (#KEYS - first_contact + 1) / 4 then
  return {'refused', 'changed'}
end
for _, identity in ipairs(redis.call('SMEMBERS', identities_key)) do
  redis.call('HDEL', index_key, identity)
end
for i = HEAD_KEYS + 1, first_contact - 1 do
  redis.call('DEL', KEYS[i])
end
local waiting = 0
for i = first_contact, #KEYS, 4 do
  local contact_key, body_key, messages_key, marks_key = KEYS[i], KEYS[i + 1], KEYS[i + 2],
    KEYS[i + 3]
  local channel, external_id, id, state, holder, callback_number, callback_queue,
    delivered_by, reply_to = unpack(redis.call('HMGET', contact_key, 'channel', 'external_id',
    'id', 'state', 'agent_id', 'callback_number', 'callback_queue', 'delivered_by', 'reply_to'))
  if delivered_by and reply_to then
    forget_if_names(conversations_key, delivered_by .. ':' .. reply_to, id)
  end
  if channel and external_id then
    redis.call('HDEL', external_ids_key, channel .. ':' .. external_id)
  end
  if callback_number and callback_queue then
    forget_if_names(callbacks_key, callback_queue .. '|' .. callback_number, id)
  end
  redis.call('HDEL', contact_key, 'customer_id', 'customer', 'attributes', 'notes',
    'callback_number', 'callback_queue', 'reply_to',
    'external_id', 'priority_terms', 'tags', 'repeat_of', 'preferred_agent', 'preferred_until',
    'preferred_hold', 'preferred_note', 'body_bytes', 'body_kind', 'transfers')
  redis.call('DEL', body_key)
  local outbound_key = outbound_of[delivered_by or channel or '']
  if outbound_key then
    local marks = redis.call('HGETALL', marks_key)
    for f = 1, #marks, 2 do
      if string.sub(marks[f], 1, 9) == 'outbound:' then
        redis.call('XDEL', outbound_key, marks[f + 1])
      end
    end
    for _, entry in ipairs(redis.call('XRANGE', messages_key, '-', '+')) do
      local fields = entry[2]  -- a message from before the marks kept its outbound entry's id
      for f = 1, #fields, 2 do
        if fields[f] == 'outbound' then redis.call('XDEL', outbound_key, fields[f + 1]) end
      end
    end
  end
  redis.call('DEL', messages_key, marks_key)
  redis.call('HSET', contact_key, 'erased_at', now)
  if holder and holder ~= '' and (state == 'offered' or state == 'connected'
      or state == 'wrap_up') then
    -- the agent's console shows the customer: it is told to forget them (no name here)
    emit(events_key, 'contact_erased', now, 'contact', id, 'agent', holder)
  end
  if state == 'queued' then
    touch(contact_changes_key, id, most_changes_kept)
    waiting = waiting + 1
  end
end
if waiting > 0 then wake(wake_key, wake_channel) end
local contacts = redis.call('ZCARD', timeline_key)
redis.call('DEL', customer_key, identities_key, timeline_key, agents_key)
redis.call('INCR', erasures_key)
emit(events_key, 'customer_erased', now, 'contacts', contacts)
return {'ok', contacts}
