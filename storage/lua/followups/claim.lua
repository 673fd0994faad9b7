-- CLAIM. KEYS[1..10]: the queue's keys and key prefixes (lib.lua); KEYS[11], KEYS[12] below.
-- @SWEEP@ (storage/followup_scripts.py) is filled in when the script loads.
-- ARGV[1] now, ARGV[2] limit, ARGV[3] lease_until, ARGV[4] weekly cap, ARGV[5] its window_s,
-- ARGV[6] keep_s; KEYS[11] and ARGV[7] what goes before and after a contact id in its
-- profile key, ARGV[8] the profile fields to return (GS-joined); KEYS[12] and ARGV[9] what
-- goes before and after a contact id in the key of its opt-out hash (category -> when).
-- Drops up to @SWEEP@ items finished keep_s ago or earlier, and as many dead letters; then
-- takes the items of expired leases first (their holder died), then due items, and leases
-- them all under one token: the lease expiry's whole second, a dot, this claim's sequence
-- number in six digits (LEASED maps each item to it; LEASES scores it with the expiry).
-- A marketing item also takes a slot of its contact's weekly cap, unless the cap is full.
-- Returns '' when nothing was due, else the token, then one string per item, joined by FS:
-- id, due (for a lease taken again: when it expired), bucket, the epoch at which
-- the cap frees a slot ('' when a slot was taken, or for transactional items), the profile
-- field values ('' when missing), the categories the contact opted out of (read for
-- marketing items only; joined by ','), chunked data ('' when inline), then the head's
-- fields, all joined by US.
local swept = tonumber(ARGV[1]) - tonumber(ARGV[6])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DONE, '-inf', swept, 'LIMIT', 0, @SWEEP@)) do
  forget(id)
end
-- Dead letters too, oldest first (the list's tail): those that died keep_s ago or earlier,
-- and ids whose record is already gone.
for _ = 1, @SWEEP@ do
  local id = redis.call('LINDEX', DEAD, -1)
  if not id then break end
  local died = tonumber(get_state(ib(id), id)[3])
  if died and died > swept then break end
  redis.call('RPOP', DEAD)
  forget(id)
end
local function list(joined)
  local t = {}
  for part in string.gmatch(joined, '[^\29]+') do t[#t + 1] = part end
  return t
end
local now, cap, window = tonumber(ARGV[1]), tonumber(ARGV[4]), tonumber(ARGV[5])
local claimed, taken, profiles, optouts, caps = {}, {}, {}, {}, {}
local fields = list(ARGV[8])
-- The contact's profile fields joined by US (once per contact and call).
local function profile(contact)
  local joined = profiles[contact]
  if not joined then
    local values = redis.call('HMGET', KEYS[11] .. contact .. ARGV[7], unpack(fields))
    for k = 1, #fields do
      local value = values[k] or ''
      if string.find(value, '[\28-\31]') then value = string.gsub(value, '[\28-\31]', ' ') end
      values[k] = value
    end
    joined = table.concat(values, US, 1, #fields)
    profiles[contact] = joined
  end
  return joined
end
-- The categories the contact opted out of: the fields of its opt-out hash, joined by ','.
local function opted_out(contact)
  local joined = optouts[contact]
  if not joined then
    joined = table.concat(redis.call('HKEYS', KEYS[12] .. contact .. ARGV[9]), ',')
    optouts[contact] = joined
  end
  return joined
end
-- The contact's cap set, read once per call: its live slots, their count, the oldest.
local function cap_of(contact)
  local c = caps[contact]
  if c then return c end
  c = {slots = {}, count = 0, oldest = nil, taken = {}}
  local key = CAP .. contact
  local flat = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local stale = false
  for i = 1, #flat, 2 do
    local at = tonumber(flat[i + 1])
    if at <= now - window then
      stale = true
    else
      c.slots[flat[i]], c.count = true, c.count + 1
      c.oldest = c.oldest and math.min(c.oldest, at) or at
    end
  end
  if stale then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window) end
  caps[contact] = c
  return c
end
-- '' when the item holds a slot (already, or taken now), else when the oldest slot frees.
local function reserve(contact, id)
  local c = cap_of(contact)
  if c.slots[id] then return '' end
  if c.count >= cap then return tostring(c.oldest + window) end
  c.slots[id], c.count = true, c.count + 1
  c.oldest = c.oldest and math.min(c.oldest, now) or now
  c.taken[#c.taken + 1] = now
  c.taken[#c.taken + 1] = id
  return ''
end
local function take(id, due)
  local b = ib(id)
  local head = redis.call('HGET', REC .. b, id)
  if not head then return false end
  -- No state read: an item in DUE or LEASED has not finished (every end leaves both), and
  -- only a retry needs its attempts (RECORD_MANY reads them then).
  taken[#taken + 1] = id
  local contact, purpose = string.match(head, '^([^\31]*)\31[^\31]*\31(.)')
  local blocked, frees = '', ''
  if purpose == 'm' then blocked, frees = opted_out(contact), reserve(contact, id) end
  local row = {id, due, b, frees, profile(contact), blocked, read_data(b, head),
    head}
  claimed[#claimed + 1] = table.concat(row, US)
  return true
end
-- The first n members by score are ranks 0..n-1: one removal for the whole range.
local function take_from(key, limit, top)
  local flat = redis.call('ZRANGEBYSCORE', key, '-inf', top, 'WITHSCORES', 'LIMIT', 0, limit)
  if #flat == 0 then return end
  redis.call('ZREMRANGEBYRANK', key, 0, #flat / 2 - 1)
  for i = 1, #flat, 2 do take(flat[i], flat[i + 1]) end
end
-- The items still held under expired leases (their holders died), up to limit; a lease is
-- forgotten once none of its items is left. The rare path: it reads every lease.
local function take_expired(limit)
  local expired = redis.call('ZRANGEBYSCORE', LEASES, '-inf', now)
  if #expired == 0 then return end
  local dead, left = {}, {}
  for _, t in ipairs(expired) do dead[t] = true end
  local flat = redis.call('HGETALL', LEASED)
  for i = 1, #flat, 2 do
    local t = flat[i + 1]
    if dead[t] then
      if #taken >= limit then
        left[t] = true
      elseif not take(flat[i], t) then
        redis.call('HDEL', LEASED, flat[i])  -- no record left to send
      end
    end
  end
  for _, t in ipairs(expired) do
    if not left[t] then redis.call('ZREM', LEASES, t) end
  end
end
local limit = tonumber(ARGV[2])
take_expired(limit)
if limit > #claimed then take_from(DUE, limit - #claimed, ARGV[1]) end
if #claimed == 0 then return '' end
local seq = redis.call('INCR', CLAIMS) % 1000000
local expiry = math.floor(tonumber(ARGV[3]))
local token = string.format('%d.%06d', expiry, seq)
local leased = {}
for i, id in ipairs(taken) do
  leased[2 * i - 1] = id
  leased[2 * i] = token
end
bulk('HSET', LEASED, leased)
redis.call('ZADD', LEASES, expiry, token)
for contact, c in pairs(caps) do
  if #c.taken > 0 then
    bulk('ZADD', CAP .. contact, c.taken)
    redis.call('EXPIRE', CAP .. contact, window)
  end
end
return token .. '\28' .. table.concat(claimed, '\28')
