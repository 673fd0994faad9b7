"""Lua scripts of the follow-up queue (``storage.followups``); each runs atomically.

Layout (why: ``docs/followups.md``, memory). Every script gets the same KEYS
(due, leased, done, dead) and the same first four ARGV (the prefixes of the record,
state, contact-index and weekly-cap keys); the items of a batch follow, many to an
argument, and each answer is one string: a client round trip, an argument and a reply
element each cost the client far more than the Lua work per item. ``CLAIM`` also reads
contact profiles and opt-out sets, outside the queue's slot (one Redis node only).

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
        local a, b, c, d, e, f, g = each()
        if a then return a, b, c, d, e, f, g end
      end
      i = i + 1
      if i > #ARGV then return nil end
      each = string.gmatch(ARGV[i], pattern)
    end
  end
end
-- state: 1 token, 2 attempts, 3 final state, 4 finished, 5 due, 6 sent marker, 7 reason
local STATE = '^' .. string.rep('([^\\31]*)\\31', 6) .. '(.*)$'
local function parse_state(raw)
  if not raw then return {{'0', '0', '', '', '', '', ''}} end
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
  redis.call('HSET', ST .. b, id, table.concat(s, US, 1, 7))
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
  local data = read_data(b, head)
  return {{id, head, data, redis.call('HGET', ST .. b, id) or '',
    redis.call('ZSCORE', DUE, id) or '', redis.call('ZSCORE', LEASED, id) or ''}}
end
"""

SCHEDULE_MANY = script(
    _LIB
    + """
-- ARGV[5] replace, ARGV[6...] the items: id, due_epoch, contact, head, data ('' when inline).
-- Returns per item '1' when added, '0' when the id exists (unless replace and still pending),
-- as one string.
local added, touched, due_at = {}, {}, {}
for id, due, contact, head, data in items(6, 5) do
  local b = ib(id)
  local fresh = write(b, id, head, data, true)
  if not fresh and ARGV[5] == '1' and not redis.call('ZSCORE', LEASED, id)
      and get_state(b, id)[3] == '' then
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
-- ARGV[5] now, ARGV[6] limit, ARGV[7] lease_until; ARGV[8] and ARGV[9] what goes before and
-- after a contact id in its profile key, ARGV[10] the profile fields to return (GS-joined);
-- ARGV[11] and ARGV[12] what goes before and after a category in the key of its opt-out
-- set, ARGV[13] the categories (GS-joined).
-- Drops up to {SWEEP} expired finished items; then takes expired leases first (their
-- holder died), then due items; each gets a new token.
-- Returns one string per item: id, token, score it was taken at, attempts, bucket, '1'
-- when an earlier claim began sending it (else ''), the profile field values ('' when
-- missing), the categories the contact opted out of (read for marketing items only;
-- joined by ','), chunked data ('' when inline), then the head's fields, all joined by US.
-- Profile and opt-out keys lie outside the queue's slot: this script needs a single node.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DONE, '-inf', ARGV[5], 'LIMIT', 0, {SWEEP})) do
  forget(id)
end
local function list(joined)
  local t = {{}}
  for part in string.gmatch(joined, '[^\\29]+') do t[#t + 1] = part end
  return t
end
local claimed, leased, profiles, optouts = {{}}, {{}}, {{}}, {{}}
local fields, categories = list(ARGV[10]), list(ARGV[13])
-- The contact's profile fields joined by US (once per contact and call).
local function profile(contact)
  local joined = profiles[contact]
  if not joined then
    local values = redis.call('HMGET', ARGV[8] .. contact .. ARGV[9], unpack(fields))
    for k = 1, #fields do
      local value = values[k] or ''
      if string.find(value, US, 1, true) then value = string.gsub(value, US, ' ') end
      values[k] = value
    end
    joined = table.concat(values, US, 1, #fields)
    profiles[contact] = joined
  end
  return joined
end
local function opted_out(contact)
  local joined = optouts[contact]
  if not joined then
    local names = {{}}
    for _, category in ipairs(categories) do
      if redis.call('SISMEMBER', ARGV[11] .. category .. ARGV[12], contact) == 1 then
        names[#names + 1] = category
      end
    end
    joined = table.concat(names, ',')
    optouts[contact] = joined
  end
  return joined
end
local function take(id, score)
  local b = ib(id)
  local head = redis.call('HGET', REC .. b, id)
  if not head then return end
  local raw, token, attempts = redis.call('HGET', ST .. b, id), '1', '0'
  local sent = ''
  if raw then
    local s = parse_state(raw)
    -- 'sent' with a marker and still leased: its holder began the send and never acked.
    if s[3] ~= '' and not (s[3] == 'sent' and s[6] ~= '') then return end
    s[1], s[5] = tostring(tonumber(s[1]) + 1), score
    put_state(b, id, s)
    token, attempts, sent = s[1], s[2], s[6] ~= '' and '1' or ''
  else
    redis.call('HSET', ST .. b, id, table.concat({{token, attempts, '', '', score, '', ''}}, US))
  end
  leased[#leased + 1] = ARGV[7]
  leased[#leased + 1] = id
  local contact, purpose = string.match(head, '^([^\\31]*)\\31[^\\31]*\\31(.)')
  local blocked = purpose == 'm' and opted_out(contact) or ''
  local row = {{id, token, score, attempts, b, sent, profile(contact), blocked, read_data(b, head),
    head}}
  claimed[#claimed + 1] = table.concat(row, US)
end
-- The first n members by score are ranks 0..n-1: one removal for the whole range.
local function take_from(key, limit)
  local flat = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[5], 'WITHSCORES', 'LIMIT', 0, limit)
  if #flat == 0 then return end
  redis.call('ZREMRANGEBYRANK', key, 0, #flat / 2 - 1)
  for i = 1, #flat, 2 do take(flat[i], flat[i + 1]) end
end
local limit = tonumber(ARGV[6])
take_from(LEASED, limit)
if limit > #claimed then take_from(DUE, limit - #claimed) end
bulk('ZADD', LEASED, leased)
return claimed
"""
)

BEGIN_SEND_MANY = script(
    _LIB
    + """
-- ARGV[5] now, ARGV[6] cap, ARGV[7] window_s, ARGV[8] keep_s,
--   ARGV[9...] the items: id, bucket, token, contact, capped ('1' for marketing)
-- Per item: 'go' (this claim holds the sent marker, and the item is recorded as sent:
-- send now), 'done' (an earlier claim committed to sending it: do not send), 'lost'
-- (re-claimed by someone else, or cancelled), or the epoch at which the weekly cap frees a
-- slot; joined by GS.
local answers, states, capped, kept = {}, {}, {}, {}
local now, cap, window = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local keep_until = now + tonumber(ARGV[8])
for id, b, token, contact, marketing in items(9, 5) do
  local s = get_state(b, id)
  local n = #states + 1
  states[n] = {id, b, s}
  if s[1] ~= token or (s[3] ~= '' and s[6] == '') then
    answers[n] = 'lost'
  elseif s[6] ~= '' then
    answers[n] = 'done'
  elseif marketing == '1' then
    capped[contact] = capped[contact] or {}
    table.insert(capped[contact], n)
  end
end
-- The weekly cap, per contact: one read, then one write for all of its items.
for contact, items in pairs(capped) do
  local key = CAP .. contact
  local flat = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local slots, count, oldest, stale = {}, 0, nil, false
  for i = 1, #flat, 2 do
    local at = tonumber(flat[i + 1])
    if at <= now - window then
      stale = true
    else
      slots[flat[i]], count = true, count + 1
      oldest = oldest and math.min(oldest, at) or at
    end
  end
  if stale then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window) end
  local taken = {}
  for _, n in ipairs(items) do
    local id = states[n][1]
    if not slots[id] and count >= cap then
      answers[n] = tostring(oldest + window)
    else
      if not slots[id] then slots[id], count = true, count + 1 end
      oldest = oldest and math.min(oldest, now) or now
      taken[#taken + 1] = now
      taken[#taken + 1] = id
    end
  end
  if #taken > 0 then
    bulk('ZADD', key, taken)
    redis.call('EXPIRE', key, window)
  end
end
-- Marker and sent record in one step: the holder acks a successful send by dropping its
-- lease only; a failed send is reverted by a retry (RECORD_MANY).
for n = 1, #states do
  if not answers[n] then
    local id, b, s = unpack(states[n])
    s[3], s[4], s[6] = 'sent', now, s[1]
    put_state(b, id, s)
    kept[#kept + 1] = keep_until
    kept[#kept + 1] = id
    answers[n] = 'go'
  end
end
bulk('ZADD', DONE, kept)
return table.concat(answers, '\\29')
"""
)

RECORD_MANY = script(
    _LIB
    + """
-- ARGV[5] now, ARGV[6] keep_s, ARGV[7] max_attempts, ARGV[8] base_s, ARGV[9] cap_s,
--   ARGV[10...] the items: kind, id, bucket, token, contact, x, y where kind is
--   'f' finish (x state, y reason), 'p' postpone (x epoch, y reason), 'r' retry (x error),
--   or 'a' ack (the other fields empty): sent after BEGIN_SEND_MANY answered 'go', which recorded
--   it as sent, so only the lease is dropped.
-- Per item: 'ok' finished/postponed/acked, 'retry', 'dead', or 'stale' (the claim is
-- stale); joined by GS.
local answers, released, kept = {}, {}, {}
local now = tonumber(ARGV[5])
local keep_until = now + tonumber(ARGV[6])
local function current(s, kind, token, x)
  if s[1] ~= token then return false end
  if s[3] == '' or (kind == 'f' and x == 'sent') then return true end
  -- A failed send after 'go': the retry reverts the sent record.
  return kind == 'r' and s[3] == 'sent' and s[6] == token
end
local function record(kind, id, b, token, contact, x, y)
  if kind == 'a' then
    released[#released + 1] = id
    return 'ok'
  end
  local s = get_state(b, id)
  if not current(s, kind, token, x) then return 'stale' end
  released[#released + 1] = id
  if kind == 'f' then
    s[3], s[4] = x, now
    if y ~= '' then s[7] = y end
    put_state(b, id, s)
    if x ~= 'dead' then
      kept[#kept + 1] = keep_until
      kept[#kept + 1] = id
    end
    return 'ok'
  elseif kind == 'p' then
    redis.call('ZADD', DUE, x, id)
    s[7] = y
    put_state(b, id, s)
    return 'ok'
  end
  if s[6] == token then s[3], s[4], s[6] = '', '', '' end
  redis.call('ZREM', DONE, id)
  redis.call('ZREM', CAP .. contact, id)
  local attempts = tonumber(s[2]) + 1
  s[2], s[7] = tostring(attempts), x
  if attempts >= tonumber(ARGV[7]) then
    finish(b, id, s, 'dead', now, x, 0)
    redis.call('LPUSH', DEAD, id)
    return 'dead'
  end
  put_state(b, id, s)
  local at = now + math.min(tonumber(ARGV[9]), tonumber(ARGV[8]) * 2 ^ (attempts - 1))
  redis.call('ZADD', DUE, at, id)
  return 'retry'
end
for kind, id, b, token, contact, x, y in items(10, 7) do
  answers[#answers + 1] = record(kind, id, b, token, contact, x, y)
end
bulk('ZREM', LEASED, released)
bulk('ZADD', DONE, kept)
return table.concat(answers, '\\29')
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
