-- enqueue: new contacts start waiting; a contact already known by its channel + external id
-- is returned unchanged, and a queue at its max size takes no more. Takes a batch; each
-- contact is handled on its own.
-- KEYS[1] external-ids hash  KEYS[2] events stream  KEYS[3] wake flag
-- KEYS[4] rules active version  KEYS[5] contact changes zset (routers read new contacts there)
-- KEYS[6] agent changes zset
-- then for contact i = 0..n-1, KEYS[7+5i .. 11+5i]: contact hash, queue waiting zset,
--   queue arrivals zset, the customer's timeline zset and hash (used when the fields name a
--   customer_id: a customer erased (gone) or merged meanwhile refuses the contact)
-- ARGV[1] now (ms)  ARGV[2] wake channel  ARGV[3] rules version the contacts were classified by
-- ARGV[4] most contact changes kept
-- then for contact i, ARGV[5+5i .. 9+5i]: contact id, "channel:external_id", order score,
--   JSON object of the contact's other fields, the queue's max size (0: no limit)
-- Returns one reply per contact: {"ok", contact id, 1 if created else 0 (known already)} or
-- {"refused", reason}: "queue_full", "customer_changed" (erased or merged meanwhile) or, for
-- every contact, "rules_changed" when other rules are in force now. A refused contact
-- leaves nothing written.
-- When the call creates at most 10 contacts, the wake-up carries them as JSON {at (now),
-- agents (the newest agent change), contacts: [{id, score, fields (the JSON object given),
-- seq (its contact change)}, ...]}: a router that has read every change before these routes them
-- without reading Redis first (see router_state.py).
local external_ids_key, events_key, wake_key, rules_key, contact_changes_key, agent_changes_key =
  unpack(KEYS, 1, 6)
local now, wake_channel, rules_version, most_changes_kept = unpack(ARGV, 1, 4)
most_changes_kept = tonumber(most_changes_kept)
local rules_ok = (redis.call('GET', rules_key) or '0') == rules_version
local HEAD_KEYS, HEAD_ARGS, CONTACT_KEYS, CONTACT_ARGS = 6, 4, 5, 5

-- The contact whose KEYS start at `k` and whose ARGV start at `a`.
local function enqueue(k, a)
  local contact_key, waiting_key, arrivals_key, timeline_key, customer_key =
    unpack(KEYS, k, k + 4)
  local contact_id, external, score, fields_json, max_size = unpack(ARGV, a, a + 4)
  if not rules_ok then return {'refused', 'rules_changed'} end
  local existing = redis.call('HGET', external_ids_key, external)
  if existing then return {'ok', existing, 0} end
  max_size = tonumber(max_size)
  if max_size > 0 and redis.call('ZCARD', waiting_key) >= max_size then
    return {'refused', 'queue_full'}
  end
  if string.find(fields_json, '"customer_id"', 1, true) then
    -- an erased customer leaves no hash: missing means erased since it was resolved
    if customer_status(customer_key) ~= 'live' then return {'refused', 'customer_changed'} end
  end
  local fields = cjson.decode(fields_json)
  local args = {'id', contact_id, 'state', 'queued', 'score', score, 'first_enqueued_at', now,
    'enqueued_at', now, 'queue_since', now, 'created_at', now, 'offer_count', 0}
  for name, value in pairs(fields) do
    args[#args + 1] = name
    args[#args + 1] = value
  end
  redis.call('HSET', contact_key, unpack(args))
  redis.call('HSET', external_ids_key, external, contact_id)
  redis.call('ZADD', waiting_key, score, contact_id)
  redis.call('ZADD', arrivals_key, now, contact_id)
  local seq = touch(contact_changes_key, contact_id, most_changes_kept)
  if fields['customer_id'] then redis.call('ZADD', timeline_key, now, contact_id) end
  emit(events_key, 'contact_queued', now, 'contact', contact_id, 'queue', fields['queue'],
    'channel', fields['channel'], 'rule', fields['rule'] or '')
  return {'ok', contact_id, 1, seq, score, fields_json}
end

local out = {}
local created = {}
for i = 0, (#ARGV - HEAD_ARGS) / CONTACT_ARGS - 1 do
  local reply = enqueue(HEAD_KEYS + 1 + CONTACT_KEYS * i, HEAD_ARGS + 1 + CONTACT_ARGS * i)
  if reply[3] == 1 then
    created[#created + 1] = reply
    out[#out + 1] = {'ok', reply[2], 1}
  else
    out[#out + 1] = reply
  end
end
if #created > 0 and #created <= 10 then
  -- written out rather than encoded, so that each contact's fields (JSON already) are sent
  -- as an object, not as a string the router would decode a second time
  local arrivals = {}
  for i, reply in ipairs(created) do
    arrivals[i] = '{"id":' .. cjson.encode(reply[2]) .. ',"seq":' .. string.format('%d', reply[4])
      .. ',"score":' .. cjson.encode(reply[5]) .. ',"fields":' .. reply[6] .. '}'
  end
  local agents = redis.call('ZRANGE', agent_changes_key, -1, -1, 'WITHSCORES')[2] or '0'
  wake(wake_key, wake_channel, '{"at":' .. cjson.encode(now) .. ',"agents":'
    .. string.format('%d', tonumber(agents)) .. ',"contacts":[' .. table.concat(arrivals, ',')
    .. ']}')
elseif #created > 10 then
  wake(wake_key, wake_channel)
end
return out
