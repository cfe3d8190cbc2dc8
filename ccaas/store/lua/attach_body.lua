-- attach_body: keep a contact's long body (chat transcript, email body) beside it; the
-- contact records its size. Replaces an earlier body. A contact whose customer was erased
-- (it has erased_at) takes no new personal data: refused, nothing written.
-- KEYS[1] contact hash  KEYS[2] body string  KEYS[3] events
-- ARGV[1] contact id  ARGV[2] body  ARGV[3] now (ms)  ARGV[4] kind ("transcript", "email")
-- Returns {"ok"} or {"refused", "no_contact" | "customer_erased"}.
local contact_key, body_key, events_key = unpack(KEYS, 1, 3)
local contact_id, body, now, kind = unpack(ARGV, 1, 4)
if redis.call('EXISTS', contact_key) == 0 then return {'refused', 'no_contact'} end
if redis.call('HEXISTS', contact_key, 'erased_at') == 1 then
  return {'refused', 'customer_erased'}
end
redis.call('SET', body_key, body)
redis.call('HSET', contact_key, 'body_bytes', string.len(body), 'body_kind', kind)
emit(events_key, 'contact_body_attached', now, 'contact', contact_id, 'bytes', string.len(body))
return {'ok'}
