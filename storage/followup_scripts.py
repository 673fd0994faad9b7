"""Lua scripts of the follow-up queue (``storage.followups``); each runs atomically.

Item hash fields: ``c`` contact, ``t`` template, ``p`` purpose letter, ``o`` opt-out
category, ``d`` JSON data, ``k`` claim token (fencing), ``a`` failed attempts,
``s`` final state, ``r`` reason or last error, ``f`` finished epoch. A pending
item has only ``c t p`` and, when present, ``o d``: that keeps the hash a small
ziplist/listpack.

The batch scripts take many items in one call (fixed-width groups of ARGV after
a header), because a client round trip costs far more than the work per item.
All keys live in the ``{fu}`` slot: scripts build item, marker, per-contact and
cap keys from prefixes; the declared keys route the call to that slot.
"""

from __future__ import annotations

from redis.commands.core import AsyncScript


def script(source: str) -> AsyncScript:
    """A script object callable on any client or pipeline (always pass ``client=``)."""
    return AsyncScript(None, source.encode())  # type: ignore[arg-type]


# Marks a pending or in-flight item finished as cancelled; shared by CANCEL and CANCEL_GROUP.
_CANCEL_FN = """
local function cancel(item, id, due, leased, now, reason, keep)
  if redis.call('EXISTS', item) == 0 or redis.call('HEXISTS', item, 's') == 1 then
    return false
  end
  redis.call('ZREM', due, id)
  redis.call('ZREM', leased, id)
  redis.call('HSET', item, 's', 'cancelled', 'r', reason, 'f', now)
  redis.call('EXPIRE', item, keep)
  return true
end
"""

SCHEDULE_MANY = script(
    """
-- KEYS: due, leased.  ARGV: item_prefix, by_contact_prefix, replace,
--   then per item: id, due_epoch, contact, template, purpose, optout, data
-- Returns 1 per item added, 0 per id that exists (unless replace and still pending).
local added = {}
for i = 4, #ARGV, 7 do
  local id, due, contact = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local item = ARGV[1] .. id
  local fresh = true
  if redis.call('EXISTS', item) == 1 then
    if ARGV[3] == '1' and redis.call('HEXISTS', item, 's') == 0
        and not redis.call('ZSCORE', KEYS[2], id) then
      redis.call('DEL', item)
    else
      fresh = false
    end
  end
  if fresh then
    redis.call('HSET', item, 'c', contact, 't', ARGV[i + 3], 'p', ARGV[i + 4])
    if ARGV[i + 5] ~= '' then redis.call('HSET', item, 'o', ARGV[i + 5]) end
    if ARGV[i + 6] ~= '' then redis.call('HSET', item, 'd', ARGV[i + 6]) end
    redis.call('ZADD', KEYS[1], due, id)
    redis.call('ZADD', ARGV[2] .. contact, math.floor(tonumber(due)), id)
  end
  added[#added + 1] = fresh and 1 or 0
end
return added
"""
)

CLAIM = script(
    """
-- KEYS: due, leased.  ARGV: now, limit, lease_until, item_prefix
-- Expired leases first (their holder died), then due items; each gets a new token.
-- Returns {id, token, score it was taken at, flat hash} per item.
local claimed, limit = {}, tonumber(ARGV[2])
local function take(id, from)
  local item = ARGV[4] .. id
  local score = redis.call('ZSCORE', from, id)
  redis.call('ZREM', from, id)
  if redis.call('EXISTS', item) == 0 or redis.call('HEXISTS', item, 's') == 1 then
    redis.call('ZREM', KEYS[2], id)
    return
  end
  redis.call('ZADD', KEYS[2], ARGV[3], id)
  local token = redis.call('HINCRBY', item, 'k', 1)
  claimed[#claimed + 1] = {id, token, score, redis.call('HGETALL', item)}
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, limit)) do
  take(id, KEYS[2])
end
local rest = limit - #claimed
if rest > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, rest)) do
    take(id, KEYS[1])
  end
end
return claimed
"""
)

BEGIN_SEND_MANY = script(
    """
-- KEYS: due.  ARGV: item_prefix, marker_prefix, cap_prefix, now, cap, window_s, marker_ttl_s,
--   then per item: id, token, contact, capped ('1' for marketing)
-- Per item: 'go' (this claim holds the sent marker: send now), 'done' (an earlier claim
-- committed to sending it: do not send), 'lost' (re-claimed by someone else, or
-- cancelled), or the epoch at which the weekly cap frees a slot.
local answers = {}
local now, cap, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 8, #ARGV, 4 do
  local id, token = ARGV[i], ARGV[i + 1]
  local item, marker = ARGV[1] .. id, ARGV[2] .. id
  local answer
  if redis.call('HGET', item, 'k') ~= token or redis.call('HEXISTS', item, 's') == 1 then
    answer = 'lost'
  elseif redis.call('EXISTS', marker) == 1 then
    answer = 'done'
  elseif ARGV[i + 3] == '1' then
    local sent = ARGV[3] .. ARGV[i + 2]
    redis.call('ZREMRANGEBYSCORE', sent, '-inf', now - window)
    if not redis.call('ZSCORE', sent, id) and redis.call('ZCARD', sent) >= cap then
      answer = tostring(tonumber(redis.call('ZRANGE', sent, 0, 0, 'WITHSCORES')[2]) + window)
    else
      redis.call('ZADD', sent, now, id)
      redis.call('EXPIRE', sent, window)
    end
  end
  if not answer then
    redis.call('SET', marker, token, 'EX', ARGV[7])
    answer = 'go'
  end
  answers[#answers + 1] = answer
end
return answers
"""
)

RECORD_MANY = script(
    """
-- KEYS: due, leased, dead.  ARGV: item_prefix, marker_prefix, cap_prefix, by_contact_prefix,
--   now, keep_s, max_attempts, base_s, cap_s,
--   then per item: kind, id, token, contact, x, y where kind is
--   'f' finish (x state, y reason), 'p' postpone (x epoch, y reason), 'r' retry (x error).
-- Per item: 1 finished/postponed, 'retry', 'dead', or 0 when the claim is stale.
local answers = {}
local now = tonumber(ARGV[5])
for i = 10, #ARGV, 6 do
  local kind, id, token, contact, x, y =
    ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local item = ARGV[1] .. id
  local answer = 0
  local state = redis.call('HGET', item, 's')
  if redis.call('HGET', item, 'k') == token and (not state or (kind == 'f' and x == 'sent')) then
    redis.call('ZREM', KEYS[2], id)
    if kind == 'f' then
      redis.call('HSET', item, 's', x, 'f', now)
      if y ~= '' then redis.call('HSET', item, 'r', y) end
      redis.call('EXPIRE', item, ARGV[6])
      answer = 1
    elseif kind == 'p' then
      redis.call('ZADD', KEYS[1], x, id)
      redis.call('ZADD', ARGV[4] .. contact, 'XX', math.floor(tonumber(x)), id)
      redis.call('HSET', item, 'r', y)
      answer = 1
    else
      local marker = ARGV[2] .. id
      if redis.call('GET', marker) == token then redis.call('DEL', marker) end
      redis.call('ZREM', ARGV[3] .. contact, id)
      local attempts = redis.call('HINCRBY', item, 'a', 1)
      redis.call('HSET', item, 'r', x)
      if attempts >= tonumber(ARGV[7]) then
        redis.call('HSET', item, 's', 'dead', 'f', now)
        redis.call('LPUSH', KEYS[3], id)
        answer = 'dead'
      else
        local at = now + math.min(tonumber(ARGV[9]), tonumber(ARGV[8]) * 2 ^ (attempts - 1))
        redis.call('ZADD', KEYS[1], at, id)
        redis.call('ZADD', ARGV[4] .. contact, 'XX', math.floor(at), id)
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
    _CANCEL_FN
    + """
-- KEYS: item, due, leased.  ARGV: id, now, reason, keep_s
return cancel(KEYS[1], ARGV[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[4]) and 1 or 0
"""
)

CANCEL_GROUP = script(
    _CANCEL_FN
    + """
-- KEYS: by_contact, due, leased.  ARGV: item_prefix, group_prefix, now, reason, keep_s, except...
local keep = {}
for i = 6, #ARGV do keep[ARGV[i]] = true end
local cancelled, prefix = {}, ARGV[2]
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(id, 1, #prefix) == prefix and not keep[id]
      and cancel(ARGV[1] .. id, id, KEYS[2], KEYS[3], ARGV[3], ARGV[4], ARGV[5]) then
    cancelled[#cancelled + 1] = id
  end
end
return cancelled
"""
)
