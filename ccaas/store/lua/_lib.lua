-- Shared helpers, prepended to every transition script when it is loaded (see scripts.py).
-- scripts.py puts `local EVENTS_MAX_LEN = '<n>'` (the events_max_len setting) in front.

-- An event's time in microseconds since the epoch: Redis's own clock at the commit when it
-- agrees with the caller's `now` (ms) within a second, so latencies resolve below a
-- millisecond; otherwise `now` x 1000, so a caller's manual clock (tests, simulations)
-- stays in charge. Redis's clock is read once per script: a script commits all at once; the
-- text is made once per `now` (a batch's events share it).
local script_time_us = nil
local event_ts_of = {}
local function event_ts(now)
  local text = event_ts_of[now]
  if text then return text end
  local ms = tonumber(now)
  if not script_time_us then
    local t = redis.call('TIME')
    script_time_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  local us = script_time_us
  if math.abs(us / 1000 - ms) > 1000 then us = ms * 1000 end
  text = string.format('%.0f', us)
  event_ts_of[now] = text
  return text
end

-- Append an event; the stream keeps about EVENTS_MAX_LEN of them (docs/operations.md).
local function emit(stream, kind, now, ...)
  return redis.call('XADD', stream, 'MAXLEN', '~', EVENTS_MAX_LEN, '*',
    'type', kind, 'ts', event_ts(now), ...)
end

-- Publish a wake-up for routers unless one is already pending since the last round began.
-- The message is "1", or what a router needs to route one new contact at once (enqueue.lua).
local function wake(flag_key, channel, message)
  if redis.call('SET', flag_key, '1', 'NX', 'PX', 1000) then
    redis.call('PUBLISH', channel, message or '1')
  end
end

-- Work entries in an agent's work hash (contact id -> entry) are "state:channel", e.g.
-- "offered:chat"; state is offered, connected or wrap_up.
local function work_entry(state, channel)
  return state .. ':' .. channel
end

-- The state and the channel of a work entry.
local function parse_work(entry)
  return string.match(entry, '^([^:]*):(.*)$')
end

local function work_counts(work_key)
  local counts, total = {}, 0
  for _, entry in ipairs(redis.call('HVALS', work_key)) do
    local _, channel = parse_work(entry)
    counts[channel] = (counts[channel] or 0) + 1
    total = total + 1
  end
  return counts, total
end

-- The agent hash keeps how many contacts its work hash holds: "held" in all and
-- "held:<channel>" on each channel, so a claim need not read every work entry. Only claim.lua
-- adds work and only release() removes it, and both keep the counts. An agent stored before
-- the counts were kept has no "held", and an older version's script (one replica still runs
-- it during a rolling upgrade, or after a rollback) adds or removes work without counting
-- it: a claim that finds "held" unlike the work hash's length counts the work hash and
-- writes the counts again.
local HELD = 'held'
local function held_on(channel)
  return 'held:' .. channel
end

local function split_set(csv)
  local set = {}
  for item in string.gmatch(csv, '[^,]+') do set[item] = true end
  return set
end

-- Mirror of ccaas.domain.eligibility.has_skills.
local function has_skills(agent_skills, required)
  for skill, level in pairs(required) do
    if (tonumber(agent_skills[skill]) or 0) < tonumber(level) then return false end
  end
  return true
end

-- The contact leaves the agent for good: its slot is freed (and counted, see HELD) and
-- idleness restarts when the agent holds nothing.
local function release(work_key, agent_key, contact_id, now)
  local entry = redis.call('HGET', work_key, contact_id)
  if entry then
    redis.call('HDEL', work_key, contact_id)
    if redis.call('HEXISTS', agent_key, HELD) == 1 then
      local _, channel = parse_work(entry)
      redis.call('HINCRBY', agent_key, held_on(channel), -1)
      redis.call('HINCRBY', agent_key, HELD, -1)
    end
  end
  if redis.call('HLEN', work_key) == 0 then
    redis.call('HSET', agent_key, 'idle_since', now)
  end
end

-- An agent that chose a presence for when its work ends (next_presence: away, with
-- next_reason, or offline) takes it once it holds no contact it is connected to or wrapping
-- up. Offers do not count: none are made to it meanwhile (claim.lua refuses them). Returns
-- the presence taken, or nil.
local function take_next_presence(agent_key, work_key, available_key, events_key, agent_id,
    now)
  local next_presence, next_reason = unpack(redis.call('HMGET', agent_key, 'next_presence',
    'next_reason'))
  if not next_presence or next_presence == '' then return nil end
  for _, entry in ipairs(redis.call('HVALS', work_key)) do
    local state = parse_work(entry)
    if state == 'connected' or state == 'wrap_up' then return nil end
  end
  local reason = next_presence == 'away' and (next_reason or '') or ''
  redis.call('HSET', agent_key, 'presence', next_presence, 'away_reason', reason,
    'updated_at', now)
  redis.call('HDEL', agent_key, 'next_presence', 'next_reason')
  redis.call('SREM', available_key, agent_id)
  emit(events_key, 'agent_presence', now, 'agent', agent_id, 'presence', next_presence,
    'reason', reason)
  return next_presence
end

-- Record that a member (an agent in agents:changes, a contact in contacts:changes) changed:
-- its score in the changes zset becomes the next sequence number, so a router can read only
-- what changed since the last number it saw. With `most_kept`, the oldest entries beyond
-- that many are trimmed (a hundredth at a time), and the member ":trimmed" (no id holds a
-- ':') takes the highest sequence trimmed: a router that finds it among the changes since
-- its last read missed some, and reads everything again. Returns the sequence now. The
-- newest sequence is read once per script and then counted here (nothing else writes
-- meanwhile). A batch script may instead trim once at its end (trim_changes).
local function trim_changes(changes_key, most_kept)
  local excess = redis.call('ZCARD', changes_key) - most_kept
  if excess > math.floor(most_kept / 100) then
    local last = redis.call('ZRANGE', changes_key, excess - 1, excess - 1, 'WITHSCORES')
    redis.call('ZREMRANGEBYRANK', changes_key, 0, excess - 1)
    redis.call('ZADD', changes_key, last[2], ':trimmed')
  end
end

local newest_change = {}
local function touch(changes_key, member, most_kept)
  local top = newest_change[changes_key]
  if not top then
    top = tonumber(redis.call('ZRANGE', changes_key, -1, -1, 'WITHSCORES')[2]) or 0
  end
  local now = top + 1
  newest_change[changes_key] = now
  redis.call('ZADD', changes_key, string.format('%d', now), member)
  if most_kept then trim_changes(changes_key, most_kept) end
  return now
end

-- What a customer hash holds: 'live', 'missing', 'merged' (a tombstone pointing at the
-- customer it joined) or 'erased' (a tombstone with anonymous counts).
local function customer_status(customer_key)
  if redis.call('EXISTS', customer_key) == 0 then return 'missing' end
  if redis.call('HEXISTS', customer_key, 'merged_into') == 1 then return 'merged' end
  if redis.call('HEXISTS', customer_key, 'erased_at') == 1 then return 'erased' end
  return 'live'
end

-- The customer exists and was neither erased nor merged into another.
local function customer_is_live(customer_key)
  return customer_status(customer_key) == 'live'
end


-- Why an answer to offer_id (accept or reject) is refused: 'no_such_offer' when the contact
-- was never offered under that id (neither its current nor its last ended offer, nor an
-- earlier attempt, whose token is not kept), else 'offer_not_pending' (it ended, or it rings
-- for another agent).
local function offer_refusal(contact_key, offer_id)
  local current, ended, count = unpack(redis.call('HMGET', contact_key, 'offer_id',
    'ended_offer_id', 'offer_count'))
  if offer_id == current or offer_id == ended then return 'offer_not_pending' end
  local attempt = tonumber(string.match(offer_id, '^[^.]+%.(%d+)') or '')
  -- attempts count from 1: attempt 0 was never made
  if attempt and attempt >= 1 and attempt < (tonumber(count) or 0) then
    return 'offer_not_pending'
  end
  return 'no_such_offer'
end
