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
-- KEYS[11..10+c]: the outbound stream of each channel ARGV[6] names, in that order
-- ARGV[1] customer id  ARGV[2] now (ms)  ARGV[3] how many merged tombstones follow
-- ARGV[4] most contact changes kept  ARGV[5] wake channel  ARGV[6] the channels, comma
--   separated, whose outbound streams follow KEYS[10]
-- then the tombstone hash of each customer in merged_from (as the caller read it), then for
--   every contact on the timeline (as the caller read it), its hash, its body key and its
--   messages stream, in threes. Its messages go, and so do the entries its agents' messages
--   left in the outbound streams (not yet delivered, they would carry the text on)
-- Returns {"ok", contacts scrubbed} or {"refused", reason} ("changed": read again).
local index_key, external_ids_key, customer_key, identities_key, timeline_key, events_key,
  erasures_key, contact_changes_key, wake_key, agents_key = unpack(KEYS, 1, 10)
local customer_id, now, merged_count, most_changes_kept, wake_channel, channels_csv =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local outbound_of, HEAD_KEYS = {}, 10
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
    or redis.call('ZCARD', timeline_key) ~= (#KEYS - first_contact + 1) / 3 then
  return {'refused', 'changed'}
end
for _, identity in ipairs(redis.call('SMEMBERS', identities_key)) do
  redis.call('HDEL', index_key, identity)
end
for i = HEAD_KEYS + 1, first_contact - 1 do
  redis.call('DEL', KEYS[i])
end
local waiting = 0
for i = first_contact, #KEYS, 3 do
  local contact_key, body_key, messages_key = KEYS[i], KEYS[i + 1], KEYS[i + 2]
  local channel, external_id, id, state, holder = unpack(redis.call('HMGET', contact_key,
    'channel', 'external_id', 'id', 'state', 'agent_id'))
  if channel and external_id then
    redis.call('HDEL', external_ids_key, channel .. ':' .. external_id)
  end
  redis.call('HDEL', contact_key, 'customer_id', 'customer', 'attributes', 'notes',
    'external_id', 'priority_terms', 'tags', 'repeat_of', 'preferred_agent', 'preferred_until',
    'preferred_hold', 'preferred_note', 'body_bytes', 'body_kind', 'transfers')
  redis.call('DEL', body_key)
  local outbound_key = outbound_of[channel or '']
  if outbound_key then
    for _, entry in ipairs(redis.call('XRANGE', messages_key, '-', '+')) do
      local fields = entry[2]
      for f = 1, #fields, 2 do
        if fields[f] == 'outbound' then redis.call('XDEL', outbound_key, fields[f + 1]) end
      end
    end
  end
  redis.call('DEL', messages_key)
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
