-- attach_body: keep a contact's long body (chat transcript, email body) beside it; the
-- contact records its size. Replaces an earlier body.
-- KEYS[1] contact hash  KEYS[2] body string  KEYS[3] events
-- ARGV[1] contact id  ARGV[2] body  ARGV[3] now (ms)  ARGV[4] kind ("transcript", "email")
-- Returns {"ok"} or {"refused", "no_contact"}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'refused', 'no_contact'} end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'body_bytes', string.len(ARGV[2]), 'body_kind', ARGV[4])
emit(KEYS[3], 'contact_body_attached', ARGV[3], 'contact', ARGV[1], 'bytes', string.len(ARGV[2]))
return {'ok'}
