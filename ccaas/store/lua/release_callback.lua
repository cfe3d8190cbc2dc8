-- release_callback: a scheduled callback is due: it waits in its queue again with the score
-- it had (its place), and routers are woken. One not scheduled (abandoned meanwhile) or not
-- yet due is left as it is.
-- KEYS[1] contact hash  KEYS[2] callbacks due zset  KEYS[3] its queue's waiting zset
-- KEYS[4] its queue's arrivals zset  KEYS[5] contact changes zset  KEYS[6] events
-- KEYS[7] wake flag
-- ARGV[1] contact id  ARGV[2] now (ms)  ARGV[3] the queue the caller read  ARGV[4] wake
--   channel  ARGV[5] most contact changes kept
-- Returns {"ok"} or {"refused", reason}: "not_scheduled", "not_due", "stale_queue".
local contact_key, due_key, waiting_key, arrivals_key, contact_changes_key, events_key,
  wake_key = unpack(KEYS, 1, 7)
local contact_id, now, caller_queue, wake_channel, most_changes_kept = unpack(ARGV, 1, 5)
local state, queue, score, first_enqueued, channel = unpack(redis.call('HMGET', contact_key,
  'state', 'queue', 'score', 'first_enqueued_at', 'channel'))
if state ~= 'scheduled' then
  redis.call('ZREM', due_key, contact_id)
  return {'refused', 'not_scheduled'}
end
local due = tonumber(redis.call('ZSCORE', due_key, contact_id) or '0')
if due > tonumber(now) then return {'refused', 'not_due'} end
if queue ~= caller_queue then return {'refused', 'stale_queue'} end
redis.call('ZREM', due_key, contact_id)
redis.call('HSET', contact_key, 'state', 'queued', 'enqueued_at', now)
redis.call('HDEL', contact_key, 'callback_due_at')
redis.call('ZADD', waiting_key, score, contact_id)
redis.call('ZADD', arrivals_key, first_enqueued or now, contact_id)
touch(contact_changes_key, contact_id, tonumber(most_changes_kept))
emit(events_key, 'contact_queued', now, 'contact', contact_id, 'queue', queue,
  'channel', channel, 'rule', 'callback retry')
wake(wake_key, wake_channel)
return {'ok'}
