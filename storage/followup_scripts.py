"""Lua scripts of the follow-up queue (``storage.followups``); each runs atomically.

Layout (why: ``docs/followups.md``, memory). Every script gets the same KEYS: due, leased,
done, dead, claims, leases, then the prefixes of the record, state, contact-index and
weekly-cap keys (``CLAIM`` also the prefixes of contact profiles and opt-out hashes). A
script builds per-item keys from a prefix it declared; every prefix carries the shop's
hash tag, so a cluster refuses a call whose families lie in another slot. The items of a
batch follow in ARGV, many to an argument, and each answer is one string: a client round
trip, an argument and a reply element each cost the client far more than the Lua work per
item.

- ``r:<b>`` record bucket, field id -> *head* ``contact US template US purpose US
  optout US data``; ``data`` is the JSON inline, or ``RS n.h`` when it is kept in n
  chunk fields ``RS h.1`` .. ``RS h.n`` of 64 bytes, ``h`` a handle from the bucket's
  counter field ``RS`` (every value stays within the 64-byte limit of a small hash, so
  the bucket stays a listpack/ziplist, and chunk names stay short).
- ``s:<b>`` state bucket (same ``b``), field id -> ``attempts US state US finished US
  due US reason``, written by an item's outcomes (a retry, a postponement, a skip, a
  cancellation, the dead letter); a claim writes none (its token is the item's value in
  ``leased``), nor does a send (the item's ``done`` score, its finish time, says it).
- ``c:<cb>`` contact index, field contact -> the record buckets holding its items.
- ``leased`` hash, item -> claim token; ``leases`` sorted set, token -> lease expiry.

``b`` and ``cb`` come from SHA-1 of the id / contact (``bucket`` below; the Python
side mirrors it in ``storage.followups.bucket_of``). Finished items stay readable for
the dispatcher's keep time after their ``done`` score (when they finished), dead letters
as long after they died; ``CLAIM`` sweeps a few older ones of each on every call.
"""

from __future__ import annotations

from redis.commands.core import AsyncScript

RECORD_BUCKETS = 2048
"""Record and state buckets: ~50-70 fields each at 100,000 pending items (listpack)."""
CONTACT_BUCKETS = 512
"""Contact index buckets: ~40 contacts each at 20,000 contacts."""
SWEEP = 100
"""Expired finished items dropped per ``CLAIM`` call."""


def script(source: str) -> AsyncScript:
    """A script object callable on any client or pipeline (always pass ``client=``)."""
    return AsyncScript(None, source.encode())  # type: ignore[arg-type]


_LIB = f"""
local DUE, LEASED, DONE, DEAD, CLAIMS, LEASES = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local REC, ST, BYC, CAP = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local US, RS = '\\31', '\\30'
local function bucket(s, n) return tonumber(string.sub(redis.sha1hex(s), 1, 8), 16) % n end
-- A record bucket as a string (formatting a Lua number costs a printf each time it is used).
local function ib(id) return tostring(bucket(id, {RECORD_BUCKETS})) end
-- The batch items in ARGV[first...]: each argument holds many items joined by FS, each
-- item's fields joined by GS (the client encodes each argument at a cost, so few and long;
-- but each under 32 KB, past which Redis keeps a query buffer that large after the call).
local function items(first, n)
  local field = '([^\\28\\29]*)'
  local pattern = field .. string.rep('\\29' .. field, n - 1)
  local i, each = first - 1, nil
  -- One scan per argument: each match is one item's n fields.
  return function()
    while true do
      if each then
        local a, b, c, d, e, f, g, h, k = each()
        if a then return a, b, c, d, e, f, g, h, k end
      end
      i = i + 1
      if i > #ARGV then return nil end
      each = string.gmatch(ARGV[i], pattern)
    end
  end
end
-- state: 1 attempts, 2 final state, 3 finished, 4 due, 5 reason (why it was skipped,
-- postponed or retried). Written by an outcome, never by a claim.
local STATE = '^' .. string.rep('([^\\31]*)\\31', 4) .. '(.*)$'
local function parse_state(raw)
  if not raw then return {{'0', '', '', '', ''}} end
  return {{string.match(raw, STATE)}}
end
local function get_state(b, id) return parse_state(redis.call('HGET', ST .. b, id)) end
-- One command over many arguments (ZADD pairs, ZREM members), in slices Lua can unpack.
local function bulk(command, key, args)
  for i = 1, #args, 1000 do
    redis.call(command, key, unpack(args, i, math.min(i + 999, #args)))
  end
end
local function put_state(b, id, s)
  redis.call('HSET', ST .. b, id, table.concat(s, US, 1, 5))
end
local CHUNK = 64
-- A head ending in RS <count>.<handle> keeps its data in fields RS <handle>.<k>, k = 1..count;
-- the handle comes from the bucket's counter (field RS), so chunk names stay short.
local function chunks(head)
  local at = string.find(head, RS, 1, true)
  if not at then return 0 end
  local count, handle = string.match(head, '^(%d+)%.(%d+)$', at + 1)
  return tonumber(count), handle
end
local function chunk_field(handle, k) return RS .. handle .. '.' .. k end
-- The item's chunked data, or '' when the data is inline in the head (the client splits it).
local function read_data(b, head)
  local n, handle = chunks(head)
  if n == 0 then return '' end
  local parts = {{}}
  for k = 1, n do parts[k] = redis.call('HGET', REC .. b, chunk_field(handle, k)) or '' end
  return table.concat(parts)
end
-- Writes the item's head and chunks; with only_new nothing when the id exists (false).
local function write(b, id, head, data, only_new)
  local at, n, handle = string.find(head, RS, 1, true), 0, nil
  if at then
    n = tonumber(string.sub(head, at + 1))
    handle = redis.call('HINCRBY', REC .. b, RS, 1)
    head = head .. '.' .. handle
  end
  if only_new then
    if redis.call('HSETNX', REC .. b, id, head) == 0 then return false end
  else
    redis.call('HSET', REC .. b, id, head)
  end
  for k = 1, n do
    local part = string.sub(data, k * CHUNK - CHUNK + 1, k * CHUNK)
    redis.call('HSET', REC .. b, chunk_field(handle, k), part)
  end
  return true
end
local function drop(b, id)
  local head = redis.call('HGET', REC .. b, id)
  if not head then return end
  local n, handle = chunks(head)
  for k = 1, n do redis.call('HDEL', REC .. b, chunk_field(handle, k)) end
  redis.call('HDEL', REC .. b, id)
end
local function contact_of(head) return string.match(head, '^([^\\31]*)') end
local function index_key(contact) return BYC .. bucket(contact, {CONTACT_BUCKETS}) end
-- Adds record buckets to the contact's index entry (one read and one write per contact).
local function index_add(contact, buckets)
  local key = index_key(contact)
  local list = redis.call('HGET', key, contact) or ''
  local known = ',' .. list .. ','
  for _, b in ipairs(buckets) do
    if not string.find(known, ',' .. b .. ',', 1, true) then
      list = list == '' and tostring(b) or (list .. ',' .. b)
      known = known .. b .. ','
    end
  end
  redis.call('HSET', key, contact, list)
end
-- The ids in bucket b whose head names the contact.
local function ids_in(b, contact)
  local ids, flat, lead = {{}}, redis.call('HGETALL', REC .. b), contact .. US
  for i = 1, #flat, 2 do
    if string.sub(flat[i + 1], 1, #lead) == lead then ids[#ids + 1] = flat[i] end
  end
  return ids
end
-- The contact's ids; drops buckets that no longer hold any of them from the index.
local function ids_of(contact)
  local key, ids, kept = index_key(contact), {{}}, {{}}
  local list = redis.call('HGET', key, contact)
  if not list then return ids end
  for b in string.gmatch(list, '[^,]+') do
    local found = ids_in(b, contact)
    if #found > 0 then kept[#kept + 1] = b end
    for _, id in ipairs(found) do ids[#ids + 1] = id end
  end
  if #kept == 0 then
    redis.call('HDEL', key, contact)
  else
    redis.call('HSET', key, contact, table.concat(kept, ','))
  end
  return ids
end
local function forget(id)
  local b = ib(id)
  local head = redis.call('HGET', REC .. b, id)
  redis.call('ZREM', DONE, id)
  if head then
    drop(b, id)
    redis.call('HDEL', ST .. b, id)
    local contact = contact_of(head)
    if #ids_in(b, contact) == 0 then ids_of(contact) end
  end
end
local function finish(b, id, s, state, now, reason)
  s[2], s[3] = state, now
  if reason ~= '' then s[5] = reason end
  put_state(b, id, s)
  if state ~= 'dead' then redis.call('ZADD', DONE, now, id) end
end
-- Cancels a pending item. Not one in flight: its holder may be sending it right now, and
-- nothing would stop that send; its outcome, whatever it is, gets recorded.
local function cancel(id, now, reason)
  local due = redis.call('ZSCORE', DUE, id)
  if not due then return false end
  local b = ib(id)
  local s = get_state(b, id)
  s[4] = due
  redis.call('ZREM', DUE, id)
  finish(b, id, s, 'cancelled', now, reason)
  return true
end
-- {{id, head, data, state, due, lease, finished}} as strings ('' when absent; head false if
-- unknown); finished is the item's DONE score.
local function row(id)
  local b = ib(id)
  local head = redis.call('HGET', REC .. b, id)
  if not head then return {{id, false}} end
  local data = read_data(b, head)
  return {{id, head, data, redis.call('HGET', ST .. b, id) or '',
    redis.call('ZSCORE', DUE, id) or '', redis.call('HGET', LEASED, id) or '',
    redis.call('ZSCORE', DONE, id) or ''}}
end
"""

SCHEDULE_MANY = script(
    _LIB
    + """
-- ARGV[1] replace, ARGV[2...] the items: id, due_epoch, contact, head, data ('' when inline).
-- Returns per item '1' when added, '0' when the id exists (unless replace and still pending),
-- as one string.
local added, touched, due_at = {}, {}, {}
for id, due, contact, head, data in items(2, 5) do
  local b = ib(id)
  local fresh = write(b, id, head, data, true)
  if not fresh and ARGV[1] == '1' and redis.call('HEXISTS', LEASED, id) == 0
      and not redis.call('ZSCORE', DONE, id) and get_state(b, id)[2] == '' then
    drop(b, id)
    redis.call('HDEL', ST .. b, id)
    fresh = write(b, id, head, data, false)
  end
  if fresh then
    due_at[#due_at + 1] = due
    due_at[#due_at + 1] = id
    touched[contact] = touched[contact] or {}
    table.insert(touched[contact], b)
  end
  added[#added + 1] = fresh and '1' or '0'
end
bulk('ZADD', DUE, due_at)
for contact, buckets in pairs(touched) do index_add(contact, buckets) end
return table.concat(added)
"""
)

CLAIM = script(
    _LIB
    + f"""
-- ARGV[1] now, ARGV[2] limit, ARGV[3] lease_until, ARGV[4] weekly cap, ARGV[5] its window_s,
-- ARGV[6] keep_s; KEYS[11] and ARGV[7] what goes before and after a contact id in its
-- profile key, ARGV[8] the profile fields to return (GS-joined); KEYS[12] and ARGV[9] what
-- goes before and after a contact id in the key of its opt-out hash (category -> when).
-- Drops up to {SWEEP} items finished keep_s ago or earlier, and as many dead letters; then
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
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DONE, '-inf', swept, 'LIMIT', 0, {SWEEP})) do
  forget(id)
end
-- Dead letters too, oldest first (the list's tail): those that died keep_s ago or earlier,
-- and ids whose record is already gone.
for _ = 1, {SWEEP} do
  local id = redis.call('LINDEX', DEAD, -1)
  if not id then break end
  local died = tonumber(get_state(ib(id), id)[3])
  if died and died > swept then break end
  redis.call('RPOP', DEAD)
  forget(id)
end
local function list(joined)
  local t = {{}}
  for part in string.gmatch(joined, '[^\\29]+') do t[#t + 1] = part end
  return t
end
local now, cap, window = tonumber(ARGV[1]), tonumber(ARGV[4]), tonumber(ARGV[5])
local claimed, taken, profiles, optouts, caps = {{}}, {{}}, {{}}, {{}}, {{}}
local fields = list(ARGV[8])
-- The contact's profile fields joined by US (once per contact and call).
local function profile(contact)
  local joined = profiles[contact]
  if not joined then
    local values = redis.call('HMGET', KEYS[11] .. contact .. ARGV[7], unpack(fields))
    for k = 1, #fields do
      local value = values[k] or ''
      if string.find(value, '[\\28-\\31]') then value = string.gsub(value, '[\\28-\\31]', ' ') end
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
  c = {{slots = {{}}, count = 0, oldest = nil, taken = {{}}}}
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
  local contact, purpose = string.match(head, '^([^\\31]*)\\31[^\\31]*\\31(.)')
  local blocked, frees = '', ''
  if purpose == 'm' then blocked, frees = opted_out(contact), reserve(contact, id) end
  local row = {{id, due, b, frees, profile(contact), blocked, read_data(b, head),
    head}}
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
  local dead, left = {{}}, {{}}
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
local leased = {{}}
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
return token .. '\\28' .. table.concat(claimed, '\\28')
"""
)

RECORD_MANY = script(
    _LIB
    + """
-- ARGV[1] now, ARGV[2] max_attempts, ARGV[3] base_s, ARGV[4] cap_s,
--   ARGV[5...] the items: kind, id, bucket, token, contact, due, x, y where kind
--   is 'a' ack (sent), 'f' finish (x state, y reason), 'p' postpone (x epoch, y reason) or
--   'r' retry (x error).
-- An ack needs no token: the message went out, so 'sent' is true whoever holds the item
-- now (a later holder's send is dropped by the channel's idempotency key). It writes no
-- state: an item in DONE whose state names no end was sent, when its DONE score says.
-- Anything else needs the claim's token (the item's LEASED value): a stale claim changes
-- nothing, and an item not sent gives back its weekly-cap slot.
-- Per item: 'ok' finished/postponed/acked, 'retry', 'dead', or 'stale'; joined by GS.
local answers, released, finished, acked = {}, {}, {}, {}
local now = tonumber(ARGV[1])
local function holds(id, token)
  return redis.call('HGET', LEASED, id) == token
end
local function record(kind, id, b, token, contact, due, x, y)
  if kind == 'a' then
    released[#released + 1] = id
    acked[#acked + 1] = id
    finished[#finished + 1] = now
    finished[#finished + 1] = id
    return 'ok'
  end
  if not holds(id, token) then return 'stale' end
  local attempts = get_state(b, id)[1]
  released[#released + 1] = id
  redis.call('ZREM', CAP .. contact, id)
  if kind == 'f' then
    put_state(b, id, {attempts, x, now, due, y})
    finished[#finished + 1] = now
    finished[#finished + 1] = id
    return 'ok'
  elseif kind == 'p' then
    redis.call('ZADD', DUE, x, id)
    put_state(b, id, {attempts, '', '', '', y})
    return 'ok'
  end
  attempts = tostring(tonumber(attempts) + 1)
  if tonumber(attempts) >= tonumber(ARGV[2]) then
    put_state(b, id, {attempts, 'dead', now, due, x})
    redis.call('LPUSH', DEAD, id)
    return 'dead'
  end
  put_state(b, id, {attempts, '', '', '', x})
  local at = now + math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ (tonumber(attempts) - 1))
  redis.call('ZADD', DUE, at, id)
  return 'retry'
end
for kind, id, b, token, contact, due, x, y in items(5, 8) do
  answers[#answers + 1] = record(kind, id, b, token, contact, due, x, y)
end
bulk('HDEL', LEASED, released)
-- A late ack after another holder's retry: the item must not stay pending.
bulk('ZREM', DUE, acked)
bulk('ZADD', DONE, finished)
return table.concat(answers, '\\29')
"""
)

CANCEL = script(
    _LIB
    + """
-- ARGV[1] id, ARGV[2] now, ARGV[3] reason
return cancel(ARGV[1], ARGV[2], ARGV[3]) and 1 or 0
"""
)

CANCEL_GROUP = script(
    _LIB
    + """
-- ARGV[1] contact, ARGV[2] group prefix, ARGV[3] now, ARGV[4] reason,
-- ARGV[5...] ids to spare.  Returns the cancelled ids.
local keep = {}
for i = 5, #ARGV do keep[ARGV[i]] = true end
local cancelled, prefix = {}, ARGV[2]
for _, id in ipairs(ids_of(ARGV[1])) do
  if string.sub(id, 1, #prefix) == prefix and not keep[id]
      and cancel(id, ARGV[3], ARGV[4]) then
    cancelled[#cancelled + 1] = id
  end
end
return cancelled
"""
)

ROWS = script(
    _LIB
    + """
-- ARGV[1...] ids.  Returns row(id) per id (see above).
local rows = {}
for i = 1, #ARGV do rows[#rows + 1] = row(ARGV[i]) end
return rows
"""
)

ROWS_OF_CONTACT = script(
    _LIB
    + """
-- ARGV[1] contact.  Returns row(id) per item of the contact still on record.
local rows = {}
for _, id in ipairs(ids_of(ARGV[1])) do rows[#rows + 1] = row(id) end
return rows
"""
)

FORGET_CONTACT = script(
    _LIB
    + """
-- ARGV[1] contact.  Erases every item of the contact, whatever its state (pending, in flight,
-- finished, dead), with its index entry and weekly-cap set.  Returns how many.
local ids = ids_of(ARGV[1])
for _, id in ipairs(ids) do
  redis.call('ZREM', DUE, id)
  redis.call('HDEL', LEASED, id)
  redis.call('LREM', DEAD, 0, id)
  forget(id)
end
redis.call('HDEL', index_key(ARGV[1]), ARGV[1])
redis.call('DEL', CAP .. ARGV[1])
return #ids
"""
)
