"""Lua scripts of the follow-up queue (``storage.followups``); each runs atomically.

Item hash fields: ``c`` contact, ``t`` template, ``p`` purpose letter, ``o`` opt-out
category, ``d`` JSON data, ``k`` claim token (fencing), ``a`` failed attempts,
``s`` final state, ``r`` reason or last error, ``f`` finished epoch. A pending
item has only ``c t p`` and, when present, ``o d``: that keeps the hash a small
ziplist/listpack.
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

SCHEDULE = script(
    """
-- KEYS: item, due, leased, by_contact
-- ARGV: id, due_epoch, contact, template, purpose, optout, data, replace
local item, id = KEYS[1], ARGV[1]
if redis.call('EXISTS', item) == 1 then
  if ARGV[8] ~= '1' or redis.call('HEXISTS', item, 's') == 1
      or redis.call('ZSCORE', KEYS[3], id) then
    return 0
  end
  redis.call('DEL', item)
end
redis.call('HSET', item, 'c', ARGV[3], 't', ARGV[4], 'p', ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', item, 'o', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', item, 'd', ARGV[7]) end
redis.call('ZADD', KEYS[2], ARGV[2], id)
redis.call('ZADD', KEYS[4], math.floor(tonumber(ARGV[2])), id)
return 1
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

BEGIN_SEND = script(
    """
-- KEYS: item, sent_marker.  ARGV: token, marker_ttl_s
-- 'go': this holder commits to sending; 'done': an earlier holder already committed;
-- 'lost': the item was re-claimed by someone else, or cancelled.
if redis.call('HGET', KEYS[1], 'k') ~= ARGV[1] or redis.call('HEXISTS', KEYS[1], 's') == 1 then
  return 'lost'
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return 'go'
end
return 'done'
"""
)

FINISH = script(
    """
-- KEYS: item, leased.  ARGV: id, token, state, reason, now, keep_s
if redis.call('HGET', KEYS[1], 'k') ~= ARGV[2] then return 0 end
local state = redis.call('HGET', KEYS[1], 's')
if state and ARGV[3] ~= 'sent' then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 's', ARGV[3], 'f', ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'r', ARGV[4]) end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 1
"""
)

RETRY = script(
    """
-- KEYS: item, leased, due, dead, sent_marker, by_contact
-- ARGV: id, token, now, error, max_attempts, base_s, cap_s
if redis.call('HGET', KEYS[1], 'k') ~= ARGV[2] or redis.call('HEXISTS', KEYS[1], 's') == 1 then
  return 'lost'
end
if redis.call('GET', KEYS[5]) == ARGV[2] then redis.call('DEL', KEYS[5]) end
redis.call('ZREM', KEYS[2], ARGV[1])
local attempts = redis.call('HINCRBY', KEYS[1], 'a', 1)
redis.call('HSET', KEYS[1], 'r', ARGV[4])
if attempts >= tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 's', 'dead', 'f', ARGV[3])
  redis.call('LPUSH', KEYS[4], ARGV[1])
  return 'dead'
end
local at = tonumber(ARGV[3]) + math.min(tonumber(ARGV[7]), tonumber(ARGV[6]) * 2 ^ (attempts - 1))
redis.call('ZADD', KEYS[3], at, ARGV[1])
redis.call('ZADD', KEYS[6], 'XX', math.floor(at), ARGV[1])
return 'retry'
"""
)

POSTPONE = script(
    """
-- KEYS: item, leased, due, by_contact.  ARGV: id, token, at, reason
if redis.call('HGET', KEYS[1], 'k') ~= ARGV[2] or redis.call('HEXISTS', KEYS[1], 's') == 1 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], 'XX', math.floor(tonumber(ARGV[3])), ARGV[1])
redis.call('HSET', KEYS[1], 'r', ARGV[4])
return 1
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
