-- Shared helpers, prepended to every transition script when it is loaded (see scripts.py).
-- Work entries in an agent's work hash are "state:channel", e.g. "offered:chat".

local function emit(stream, kind, now, ...)
  return redis.call('XADD', stream, '*', 'type', kind, 'ts', now, ...)
end

-- Publish a wake-up for routers unless one is already pending since the last round began.
local function wake(flag_key, channel)
  if redis.call('SET', flag_key, '1', 'NX', 'PX', 1000) then
    redis.call('PUBLISH', channel, '1')
  end
end

local function work_counts(work_key)
  local counts, total = {}, 0
  for _, entry in ipairs(redis.call('HVALS', work_key)) do
    local channel = string.match(entry, ':(.+)$')
    counts[channel] = (counts[channel] or 0) + 1
    total = total + 1
  end
  return counts, total
end

local function split_set(csv)
  local set = {}
  for item in string.gmatch(csv, '[^,]+') do set[item] = true end
  return set
end

-- Mirror of ccaas.domain.eligibility.has_room, in its order. `capacity` holds the limit of
-- every channel as ccaas.domain.eligibility.capacity_limit gives it (the agent's own, else
-- the channel default), so a channel it does not name is never taken.
local function has_room(counts, total, channel, capacity, exclusive, max_total)
  if exclusive[channel] and total > 0 then return false end
  for held, n in pairs(counts) do
    if n > 0 and exclusive[held] then return false end
  end
  if max_total > 0 and total >= max_total then return false end
  return (counts[channel] or 0) < (tonumber(capacity[channel]) or 0)
end

local function has_skills(agent_skills, required)
  for skill, level in pairs(required) do
    if (tonumber(agent_skills[skill]) or 0) < tonumber(level) then return false end
  end
  return true
end

local function contains(list, item)
  for _, value in ipairs(list) do
    if value == item then return true end
  end
  return false
end

-- The contact leaves the agent for good: its slot is freed and idleness restarts when empty.
local function release(work_key, agent_key, contact_id, now)
  redis.call('HDEL', work_key, contact_id)
  if redis.call('HLEN', work_key) == 0 then
    redis.call('HSET', agent_key, 'idle_since', now)
  end
end

-- Record that an agent changed: its score in the changes zset becomes the next sequence
-- number, so a router can read only the agents changed since the last number it saw.
-- Returns {sequence before (0 if never), sequence now}.
local function touch(changes_key, agent_id)
  local before = tonumber(redis.call('ZSCORE', changes_key, agent_id)) or 0
  local top = redis.call('ZRANGE', changes_key, -1, -1, 'WITHSCORES')
  local now = (tonumber(top[2]) or 0) + 1
  redis.call('ZADD', changes_key, now, agent_id)
  return {before, now}
end

