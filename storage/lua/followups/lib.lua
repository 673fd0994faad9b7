-- The follow-up queue's shared Lua (storage/followup_scripts.py puts it before each script).
-- KEYS[1..6] due, leased, done, dead, claims, leases; KEYS[7..10] the prefixes of the
-- record, state, contact-index and weekly-cap keys. @RECORD_BUCKETS@ and @CONTACT_BUCKETS@
-- are filled in from storage/followup_scripts.py when the scripts load.
local DUE, LEASED, DONE, DEAD, CLAIMS, LEASES = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local REC, ST, BYC, CAP = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local US, RS = '\31', '\30'
local function bucket(s, n) return tonumber(string.sub(redis.sha1hex(s), 1, 8), 16) % n end
-- A record bucket as a string (formatting a Lua number costs a printf each time it is used).
local function ib(id) return tostring(bucket(id, @RECORD_BUCKETS@)) end
-- The batch items in ARGV[first...]: each argument holds many items joined by FS, each
-- item's fields joined by GS (the client encodes each argument at a cost, so few and long;
-- but each under 32 KB, past which Redis keeps a query buffer that large after the call).
local function items(first, n)
  local field = '([^\28\29]*)'
  local pattern = field .. string.rep('\29' .. field, n - 1)
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
local STATE = '^' .. string.rep('([^\31]*)\31', 4) .. '(.*)$'
local function parse_state(raw)
  if not raw then return {'0', '', '', '', ''} end
  return {string.match(raw, STATE)}
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
  local parts = {}
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
local function contact_of(head) return string.match(head, '^([^\31]*)') end
local function index_key(contact) return BYC .. bucket(contact, @CONTACT_BUCKETS@) end
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
  local ids, flat, lead = {}, redis.call('HGETALL', REC .. b), contact .. US
  for i = 1, #flat, 2 do
    if string.sub(flat[i + 1], 1, #lead) == lead then ids[#ids + 1] = flat[i] end
  end
  return ids
end
-- The contact's ids; drops buckets that no longer hold any of them from the index.
local function ids_of(contact)
  local key, ids, kept = index_key(contact), {}, {}
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
-- {id, head, data, state, due, lease, finished} as strings ('' when absent; head false if
-- unknown); finished is the item's DONE score.
local function row(id)
  local b = ib(id)
  local head = redis.call('HGET', REC .. b, id)
  if not head then return {id, false} end
  local data = read_data(b, head)
  return {id, head, data, redis.call('HGET', ST .. b, id) or '',
    redis.call('ZSCORE', DUE, id) or '', redis.call('HGET', LEASED, id) or '',
    redis.call('ZSCORE', DONE, id) or ''}
end
