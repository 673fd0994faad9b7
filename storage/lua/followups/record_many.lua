-- RECORD_MANY. KEYS[1..10]: the queue's keys and key prefixes (lib.lua).
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
return table.concat(answers, '\29')
