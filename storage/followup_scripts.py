"""Lua scripts of the follow-up queue (``storage.followups``); each runs atomically.

Layout (why: ``docs/followups.md``, memory). Every script gets the same KEYS
(due, leased, done, dead) and the same first four ARGV (the prefixes of the record,
state, contact-index and weekly-cap keys); per-item arguments follow in fixed-width
groups, because a client round trip costs far more than the work per item.

- ``r:<b>`` record bucket, field id -> *head* ``contact US template US purpose US
  optout US data``; ``data`` is the JSON inline, or ``RS n.h`` when it is kept in n
  chunk fields ``RS h.1`` .. ``RS h.n`` of 64 bytes, ``h`` a handle from the bucket's
  counter field ``RS`` (every value stays within the 64-byte limit of a small hash, so
  the bucket stays a listpack/ziplist, and chunk names stay short).
- ``s:<b>`` state bucket (same ``b``), field id -> ``token US attempts US state US
  finished US due US marker US reason``, written at the first claim; a pending item
  that was never claimed has none.
- ``c:<cb>`` contact index, field contact -> the record buckets holding its items.

``b`` and ``cb`` come from SHA-1 of the id / contact (``bucket`` below; the Python
side mirrors it in ``storage.followups.bucket_of``). Finished items stay readable
until their ``done`` score passes; ``CLAIM`` sweeps a few of those on every call.
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
local DUE, LEASED, DONE, DEAD = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local REC, ST, BYC, CAP = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local US, RS = '\\31', '\\30'
local function bucket(s, n) return tonumber(string.sub(redis.sha1hex(s), 1, 8), 16) % n end
local function ib(id) return bucket(id, {RECORD_BUCKETS}) end
local function split(raw)
  local t = {{}}
  for part in string.gmatch(raw .. US, '([^\\31]*)\\31') do t[#t + 1] = part end
  return t
end
-- One batch item: its fields joined by GS (one argument per item: far less to encode).
local function item(raw)
  local t = {{}}
  for part in string.gmatch(raw .. '\\29', '([^\\29]*)\\29') do t[#t + 1] = part end
  return t
end
-- state: 1 token, 2 attempts, 3 final state, 4 finished, 5 due, 6 sent marker, 7 reason
local function get_state(b, id)
  local raw = redis.call('HGET', ST .. b, id)
  if not raw then return {{'0', '0', '', '', '', '', ''}} end
  return split(raw)
end
local function put_state(b, id, s)
  redis.call('HSET', ST .. b, id, table.concat(s, US, 1, 7))
end
local CHUNK = 64
-- A head ending in RS <count>.<handle> keeps its data in fields RS <handle>.<k>, k = 1..count;
-- the handle comes from the bucket's counter (field RS), so chunk names stay short.
local function chunks(head)
  local count, handle = string.match(head, RS .. '(%d+)%.(%d+)$')
  return tonumber(count or '0'), handle
end
local function chunk_field(handle, k) return RS .. handle .. '.' .. k end
-- The item's data: inline in the head, or in its chunk fields.
local function read_data(b, id, head)
  local n, handle = chunks(head)
  if n == 0 then return string.match(head, '([^\\31]*)$') end
  local parts = {{}}
  for k = 1, n do parts[k] = redis.call('HGET', REC .. b, chunk_field(handle, k)) or '' end
  return table.concat(parts)
end
local function write(b, id, head, data)
  local n = tonumber(string.match(head, RS .. '(%d+)$') or '0')
  if n > 0 then
    local handle = redis.call('HINCRBY', REC .. b, RS, 1)
    head = head .. '.' .. handle
    for k = 1, n do
      local part = string.sub(data, k * CHUNK - CHUNK + 1, k * CHUNK)
      redis.call('HSET', REC .. b, chunk_field(handle, k), part)
    end
  end
  redis.call('HSET', REC .. b, id, head)
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
local function finish(b, id, s, state, now, reason, until_epoch)
  s[3], s[4] = state, now
  if reason ~= '' then s[7] = reason end
  put_state(b, id, s)
  if state ~= 'dead' then redis.call('ZADD', DONE, until_epoch, id) end
end
local function cancel(id, now, reason, until_epoch)
  local b = ib(id)
  if redis.call('HEXISTS', REC .. b, id) == 0 then return false end
  local s = get_state(b, id)
  if s[3] ~= '' then return false end
  s[5] = redis.call('ZSCORE', DUE, id) or s[5]
  redis.call('ZREM', DUE, id)
  redis.call('ZREM', LEASED, id)
  finish(b, id, s, 'cancelled', now, reason, until_epoch)
  return true
end
-- {{id, head, data, state, due, lease}} as strings ('' when absent; head false if unknown).
local function row(id)
  local b = ib(id)
  local head = redis.call('HGET', REC .. b, id)
  if not head then return {{id, false}} end
  local data = read_data(b, id, head)
  return {{id, head, data, redis.call('HGET', ST .. b, id) or '',
    redis.call('ZSCORE', DUE, id) or '', redis.call('ZSCORE', LEASED, id) or ''}}
end
"""

SCHEDULE_MANY = script(
    _LIB
    + """
-- ARGV[5] replace, then per item (GS-joined): id, due_epoch, contact, head, data ('' when inline).
-- Returns 1 per item added, 0 per id that exists (unless replace and still pending).
local added, touched = {}, {}
for i = 6, #ARGV do
  local id, due, contact, head, data = unpack(item(ARGV[i]))
  local b = ib(id)
  local fresh = redis.call('HEXISTS', REC .. b, id) == 0
  if not fresh and ARGV[5] == '1' and not redis.call('ZSCORE', LEASED, id)
      and get_state(b, id)[3] == '' then
    drop(b, id)
    redis.call('HDEL', ST .. b, id)
    fresh = true
  end
  if fresh then
    write(b, id, head, data)
    redis.call('ZADD', DUE, due, id)
    touched[contact] = touched[contact] or {}
    table.insert(touched[contact], b)
  end
  added[#added + 1] = fresh and 1 or 0
end
for contact, buckets in pairs(touched) do index_add(contact, buckets) end
return added
"""
)

CLAIM = script(
    _LIB
    + f"""
-- ARGV[5] now, ARGV[6] limit, ARGV[7] lease_until.
-- Drops up to {SWEEP} expired finished items; then takes expired leases first (their
-- holder died), then due items; each gets a new token.
-- Returns {{id, token, score it was taken at, head, data, attempts}} per item.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DONE, '-inf', ARGV[5], 'LIMIT', 0, {SWEEP})) do
  forget(id)
end
local claimed, limit = {{}}, tonumber(ARGV[6])
local function take(id, from)
  local score = redis.call('ZSCORE', from, id)
  redis.call('ZREM', from, id)
  local b = ib(id)
  local head = redis.call('HGET', REC .. b, id)
  local s = get_state(b, id)
  if not head or s[3] ~= '' then
    redis.call('ZREM', LEASED, id)
    return
  end
  redis.call('ZADD', LEASED, ARGV[7], id)
  s[1], s[5] = tostring(tonumber(s[1]) + 1), score
  put_state(b, id, s)
  local data = read_data(b, id, head)
  claimed[#claimed + 1] = {{id, s[1], score, head, data, s[2]}}
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', LEASED, '-inf', ARGV[5], 'LIMIT', 0, limit)) do
  take(id, LEASED)
end
local rest = limit - #claimed
if rest > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', DUE, '-inf', ARGV[5], 'LIMIT', 0, rest)) do
    take(id, DUE)
  end
end
return claimed
"""
)

BEGIN_SEND_MANY = script(
    _LIB
    + """
-- ARGV[5] now, ARGV[6] cap, ARGV[7] window_s,
--   then per item (GS-joined): id, token, contact, capped ('1' for marketing)
-- Per item: 'go' (this claim holds the sent marker: send now), 'done' (an earlier claim
-- committed to sending it: do not send), 'lost' (re-claimed by someone else, or
-- cancelled), or the epoch at which the weekly cap frees a slot.
local answers = {}
local now, cap, window = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
for i = 8, #ARGV do
  local id, token, contact, capped = unpack(item(ARGV[i]))
  local b = ib(id)
  local s = get_state(b, id)
  local answer
  if s[1] ~= token or s[3] ~= '' then
    answer = 'lost'
  elseif s[6] ~= '' then
    answer = 'done'
  elseif capped == '1' then
    local sent = CAP .. contact
    redis.call('ZREMRANGEBYSCORE', sent, '-inf', now - window)
    if not redis.call('ZSCORE', sent, id) and redis.call('ZCARD', sent) >= cap then
      answer = tostring(tonumber(redis.call('ZRANGE', sent, 0, 0, 'WITHSCORES')[2]) + window)
    else
      redis.call('ZADD', sent, now, id)
      redis.call('EXPIRE', sent, window)
    end
  end
  if not answer then
    s[6] = token
    put_state(b, id, s)
    answer = 'go'
  end
  answers[#answers + 1] = answer
end
return answers
"""
)

RECORD_MANY = script(
    _LIB
    + """
-- ARGV[5] now, ARGV[6] keep_s, ARGV[7] max_attempts, ARGV[8] base_s, ARGV[9] cap_s,
--   then per item (GS-joined): kind, id, token, contact, x, y where kind is
--   'f' finish (x state, y reason), 'p' postpone (x epoch, y reason), 'r' retry (x error).
-- Per item: 1 finished/postponed, 'retry', 'dead', or 0 when the claim is stale.
local answers = {}
local now = tonumber(ARGV[5])
local keep_until = now + tonumber(ARGV[6])
for i = 10, #ARGV do
  local kind, id, token, contact, x, y = unpack(item(ARGV[i]))
  local b = ib(id)
  local s = get_state(b, id)
  local answer = 0
  if s[1] == token and (s[3] == '' or (kind == 'f' and x == 'sent')) then
    redis.call('ZREM', LEASED, id)
    if kind == 'f' then
      finish(b, id, s, x, now, y, keep_until)
      answer = 1
    elseif kind == 'p' then
      redis.call('ZADD', DUE, x, id)
      s[7] = y
      put_state(b, id, s)
      answer = 1
    else
      if s[6] == token then s[6] = '' end
      redis.call('ZREM', CAP .. contact, id)
      local attempts = tonumber(s[2]) + 1
      s[2], s[7] = tostring(attempts), x
      if attempts >= tonumber(ARGV[7]) then
        finish(b, id, s, 'dead', now, x, 0)
        redis.call('LPUSH', DEAD, id)
        answer = 'dead'
      else
        put_state(b, id, s)
        local at = now + math.min(tonumber(ARGV[9]), tonumber(ARGV[8]) * 2 ^ (attempts - 1))
        redis.call('ZADD', DUE, at, id)
        answer = 'retry'
      end
    end
  end
  answers[#answers + 1] = answer
end
return answers
"""
)

CANCEL = script(
    _LIB
    + """
-- ARGV[5] id, ARGV[6] now, ARGV[7] reason, ARGV[8] keep_s
local until_epoch = tonumber(ARGV[6]) + tonumber(ARGV[8])
return cancel(ARGV[5], ARGV[6], ARGV[7], until_epoch) and 1 or 0
"""
)

CANCEL_GROUP = script(
    _LIB
    + """
-- ARGV[5] contact, ARGV[6] group prefix, ARGV[7] now, ARGV[8] reason, ARGV[9] keep_s,
-- ARGV[10...] ids to spare.  Returns the cancelled ids.
local keep = {}
for i = 10, #ARGV do keep[ARGV[i]] = true end
local cancelled, prefix = {}, ARGV[6]
local until_epoch = tonumber(ARGV[7]) + tonumber(ARGV[9])
for _, id in ipairs(ids_of(ARGV[5])) do
  if string.sub(id, 1, #prefix) == prefix and not keep[id]
      and cancel(id, ARGV[7], ARGV[8], until_epoch) then
    cancelled[#cancelled + 1] = id
  end
end
return cancelled
"""
)

ROWS = script(
    _LIB
    + """
-- ARGV[5...] ids.  Returns row(id) per id (see above).
local rows = {}
for i = 5, #ARGV do rows[#rows + 1] = row(ARGV[i]) end
return rows
"""
)

ROWS_OF_CONTACT = script(
    _LIB
    + """
-- ARGV[5] contact.  Returns row(id) per item of the contact still on record.
local rows = {}
for _, id in ipairs(ids_of(ARGV[5])) do rows[#rows + 1] = row(id) end
return rows
"""
)
