"""At-most-once sending: an outbound message's idempotency key is claimed before it is sent.

The one implementation for every channel: a message with an ``idempotency_key``
goes out at most once per contact and key (``keys.sent_message``). A claim
starts as a short lease (``sending``); a successful send turns it into a
long-lived ``sent`` marker; a send that reached nobody releases it, so a later
retry may try again. Retries inside one send (429, network errors) keep the claim.

:func:`send_once` is the common case (WeChat, the terminal). A sender whose
message may go out in parts (Telegram's chunks) uses :func:`claim`,
:func:`confirm` and :func:`release` itself: it confirms once any part went out.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage import durability, keys

log = logging.getLogger(__name__)

SENDING = "sending"
SENT = "sent"
DEFAULT_LEASE_S = 600
DEFAULT_SENT_TTL_S = 7 * 86_400


_CLAIM = """
local before = redis.call('GET', KEYS[1])
if before then return before end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
"""


async def claim(
    redis: Redis, contact_id: str, idempotency_key: str, lease_s: int = DEFAULT_LEASE_S
) -> bool:
    """True for the first claim of the key; False when it is being or was already sent.

    With ``SHOPBOT_REDIS_MIN_REPLICAS`` the claim holds only once replicas have it (else
    :class:`~storage.durability.ReplicationError`), so a promoted replica knows it too.
    """
    key = keys.sent_message(contact_id, idempotency_key)
    while True:
        mine = f"{SENDING}:{uuid.uuid4().hex}"
        # The value before: a retry of a claim whose reply was lost (a failover) finds its
        # own token and knows the claim is its own.
        before = await redis.eval(_CLAIM, 1, key, mine, lease_s)
        if before is not None and before != mine:
            return False
        if not durability.min_replicas():
            return True
        try:
            await durability.barrier(redis)
            # Read back: a claim a failover lost is made again on the new primary.
            if await redis.get(key) == mine:
                return True
        except RedisError:
            # Unconfirmed: we send nothing, and a claim a failover kept must not block a retry.
            with suppress(RedisError):
                await release(redis, contact_id, idempotency_key)
            raise


async def confirm(
    redis: Redis, contact_id: str, idempotency_key: str, ttl_s: int = DEFAULT_SENT_TTL_S
) -> None:
    """The message went out: remember that for ``ttl_s``."""
    await redis.set(keys.sent_message(contact_id, idempotency_key), SENT, ex=ttl_s)


async def release(redis: Redis, contact_id: str, idempotency_key: str) -> None:
    """Nothing was delivered: let a later attempt send it."""
    await redis.delete(keys.sent_message(contact_id, idempotency_key))


def log_duplicate(contact_id: str, idempotency_key: str) -> None:
    """Say that a message is not sent because its key was already claimed."""
    log.info("message %s to %s already sent; not sending again", idempotency_key, contact_id)


async def send_once(
    redis: Redis,
    contact_id: str,
    idempotency_key: str | None,
    send: Callable[[], Awaitable[None]],
) -> bool:
    """Run ``send`` unless ``idempotency_key`` was already claimed for ``contact_id``.

    True when ``send`` ran, False when the message was dropped as a duplicate. A send
    that raises (or is cancelled) releases the claim and the error propagates; one that
    returns confirms it. Without a key, ``send`` simply runs.
    """
    if not idempotency_key:
        await send()
        return True
    if not await claim(redis, contact_id, idempotency_key):
        log_duplicate(contact_id, idempotency_key)
        return False
    try:
        await send()
    except BaseException:
        await release(redis, contact_id, idempotency_key)
        raise
    await confirm(redis, contact_id, idempotency_key)
    return True
