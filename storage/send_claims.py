"""At-most-once sending: an outbound message's idempotency key is claimed before it is sent.

The one implementation for every channel: a message with an ``idempotency_key``
goes out at most once per contact and key (``keys.sent_message``). A claim holds
its holder's token and a deadline (``sending|<token>|<deadline>``); a successful
send turns it into ``sent``; a send that reached nobody releases it (only its own
holder can), so a later retry may try again. Retries inside one send (429, network
errors) keep the claim.

The token makes a claim safe to repeat: when redis-py retries a claim whose first
run reached Redis, the retry finds its own token and goes on. Someone else's claim
still ``sending`` raises :class:`Held` (try later, never count it as sent). A claim
whose deadline passed without a confirm (its holder died between claim and confirm)
and a send whose platform call timed out end as ``uncertain``: the message may or
may not have gone out. Such a key is never sent again and raises :class:`Uncertain`;
it is listed in ``keys.uncertain_sends`` for the owners' daily digest.

:func:`send_once` is the common case (WeChat, the terminal). A sender whose
message may go out in parts (Telegram's chunks) uses :func:`claim`,
:func:`confirm`, :func:`release` and :func:`mark_uncertain` itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage import durability, keys, tokens
from storage.replies import Scalar, maybe_text, scored
from storage.scripts import script
from storage.timestamps import Clock, from_epoch, to_epoch, utc_now

log = logging.getLogger(__name__)

SENDING = "sending"
SENT = "sent"
UNCERTAIN = "uncertain"
DEFAULT_LEASE_S = 600
DEFAULT_SENT_TTL_S = 7 * 86_400
UNCERTAIN_KEEP_S = 30 * 86_400
"""How long an uncertain send stays in the owners' list."""
_US = "\x1f"


class Held(Exception):
    """Someone else holds the claim and may be sending right now; try after ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"another sender holds this message until {until.isoformat()}")
        self.until = until


class Uncertain(Exception):
    """The message may or may not have gone out; it is not sent again."""


@dataclass(frozen=True, slots=True)
class UncertainSend:
    """One send whose outcome is unknown, as listed for the owners."""

    contact_id: str
    idempotency_key: str
    at: datetime


_CLAIM = script(
    """
-- KEYS[1] the claim; ARGV[1] token, ARGV[2] now, ARGV[3] deadline, ARGV[4] ttl.
-- Replies {state, detail}: claimed, sent, held (detail: deadline), uncertain (detail:
-- 'expired' when this call found the holder's deadline passed, '' when it already was).
local value = redis.call('GET', KEYS[1])
local mine = 'sending|' .. ARGV[1] .. '|'
if not value then
  redis.call('SET', KEYS[1], mine .. ARGV[3], 'EX', ARGV[4])
  return {'claimed', ''}
end
if string.sub(value, 1, #mine) == mine then return {'claimed', ''} end
if string.sub(value, 1, 8) == 'sending|' then
  local deadline = string.match(value, '|([^|]*)$')
  if tonumber(deadline) > tonumber(ARGV[2]) then return {'held', deadline} end
  redis.call('SET', KEYS[1], 'uncertain', 'KEEPTTL')
  return {'uncertain', 'expired'}
end
return {value, ''}
""",
)

_RELEASE = script(
    """
-- KEYS[1] the claim; ARGV[1] token. Deletes it only while this token holds it.
local value = redis.call('GET', KEYS[1])
local mine = 'sending|' .. ARGV[1] .. '|'
if value and string.sub(value, 1, #mine) == mine then return redis.call('DEL', KEYS[1]) end
return 0
""",
)

_MARK_UNCERTAIN = script(
    """
-- KEYS[1] the claim; ARGV[1] token, ARGV[2] ttl. Our claim (or none) becomes uncertain;
-- a 'sent' stays sent.
local value = redis.call('GET', KEYS[1])
local mine = 'sending|' .. ARGV[1] .. '|'
if value and string.sub(value, 1, #mine) ~= mine then return 0 end
redis.call('SET', KEYS[1], 'uncertain', 'EX', ARGV[2])
return 1
""",
)


async def claim(
    redis: Redis, contact_id: str, idempotency_key: str, token: str, *, now: datetime | None = None
) -> bool:
    """True when ``token`` holds the claim (new, or its own earlier write); False when sent.

    Raises :class:`Held` while someone else's claim runs, :class:`Uncertain` when an
    earlier send's outcome is unknown (then the key is never sent again). With
    ``SHOPBOT_REDIS_MIN_REPLICAS`` the claim holds only once replicas have it, so a
    promoted replica knows it too.
    """
    moment = now or utc_now()
    epoch = to_epoch(moment)
    key = keys.sent_message(contact_id, idempotency_key)
    args: list[Scalar] = [token, epoch, epoch + DEFAULT_LEASE_S, DEFAULT_SENT_TTL_S]
    while True:
        state, detail = await _CLAIM(keys=[key], args=args, client=redis)
        if state != "claimed":
            break
        if not durability.min_replicas() or await _replicated(redis, key, token):
            return True
        # A failover lost the claim: the loop makes it again on the new primary.
    if state == SENT:
        return False
    if state == "held":
        raise Held(from_epoch(detail))
    if detail == "expired":
        await record_uncertain(redis, contact_id, idempotency_key, moment)
        raise Uncertain("its sender stopped before confirming; it may have gone out")
    raise Uncertain("an earlier send's outcome is unknown; it may have gone out")


async def _replicated(redis: Redis, key: str, token: str) -> bool:
    """The claim ``token`` holds is on ``SHOPBOT_REDIS_MIN_REPLICAS`` replicas."""
    try:
        await durability.barrier(redis)
        value = maybe_text(await redis.get(key))
    except RedisError:
        # Unconfirmed: nothing is sent, and a claim a failover kept must not block a retry.
        with suppress(RedisError):
            await _RELEASE(keys=[key], args=[token], client=redis)
        raise
    return value is not None and value.startswith(f"sending|{token}|")


async def confirm(redis: Redis, contact_id: str, idempotency_key: str) -> None:
    """The message went out: remember that for ``DEFAULT_SENT_TTL_S`` (safe to repeat)."""
    await redis.set(keys.sent_message(contact_id, idempotency_key), SENT, ex=DEFAULT_SENT_TTL_S)


async def release(redis: Redis, contact_id: str, idempotency_key: str, token: str) -> None:
    """Nothing was delivered: let a later attempt send it (only the holder ``token`` can)."""
    key = keys.sent_message(contact_id, idempotency_key)
    await _RELEASE(keys=[key], args=[token], client=redis)


async def mark_uncertain(
    redis: Redis,
    contact_id: str,
    idempotency_key: str,
    token: str,
    *,
    now: datetime | None = None,
    ttl_s: int = DEFAULT_SENT_TTL_S,
) -> None:
    """The send's outcome is unknown (a timeout): never send it again, and list it."""
    key = keys.sent_message(contact_id, idempotency_key)
    if await _MARK_UNCERTAIN(keys=[key], args=[token, ttl_s], client=redis):
        await record_uncertain(redis, contact_id, idempotency_key, now or utc_now())


async def record_uncertain(
    redis: Redis, contact_id: str, idempotency_key: str, at: datetime
) -> None:
    """List an uncertain send for the owners (and forget those past ``UNCERTAIN_KEEP_S``)."""
    log.warning("message %s to %s: outcome unknown (uncertain)", idempotency_key, contact_id)
    epoch = to_epoch(at)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(keys.uncertain_sends(), {f"{contact_id}{_US}{idempotency_key}": epoch})
        pipe.zremrangebyscore(keys.uncertain_sends(), "-inf", epoch - UNCERTAIN_KEEP_S)
        await pipe.execute()


async def uncertain_between(redis: Redis, start: datetime, end: datetime) -> list[UncertainSend]:
    """The sends found uncertain after ``start`` and up to ``end``, oldest first."""
    rows = scored(
        await redis.zrangebyscore(
            keys.uncertain_sends(), f"({to_epoch(start)}", to_epoch(end), withscores=True
        )
    )
    sends = []
    for member, score in rows:
        contact_id, _, idempotency_key = member.partition(_US)
        sends.append(UncertainSend(contact_id, idempotency_key, from_epoch(score)))
    return sends


def log_duplicate(contact_id: str, idempotency_key: str) -> None:
    """Say that a message is not sent because its key was already claimed."""
    log.info("message %s to %s already sent; not sending again", idempotency_key, contact_id)


async def send_once(
    redis: Redis,
    contact_id: str,
    idempotency_key: str | None,
    send: Callable[[], Awaitable[None]],
    *,
    clock: Clock = utc_now,
) -> bool:
    """Run ``send`` unless ``idempotency_key`` was already claimed for ``contact_id``.

    True when ``send`` ran, False when the message was already sent. Raises
    :class:`Held` or :class:`Uncertain` as :func:`claim` does. A send that raises
    :class:`Uncertain` marks the key uncertain; one that raises anything else (or is
    cancelled) releases the claim; either way the error propagates. One that returns
    confirms the claim. Without a key, ``send`` simply runs.
    """
    if not idempotency_key:
        await send()
        return True
    token = tokens.new_token()
    if not await claim(redis, contact_id, idempotency_key, token, now=clock()):
        log_duplicate(contact_id, idempotency_key)
        return False
    try:
        await send()
    except Uncertain:
        await mark_uncertain(redis, contact_id, idempotency_key, token, now=clock())
        raise
    except BaseException:
        await release(redis, contact_id, idempotency_key, token)
        raise
    await confirm(redis, contact_id, idempotency_key)
    return True
