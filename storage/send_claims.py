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
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from storage import keys

log = logging.getLogger(__name__)

SENDING = "sending"
SENT = "sent"
DEFAULT_LEASE_S = 600
DEFAULT_SENT_TTL_S = 7 * 86_400


async def claim(
    redis: Redis, contact_id: str, idempotency_key: str, lease_s: int = DEFAULT_LEASE_S
) -> bool:
    """True for the first claim of the key; False when it is being or was already sent."""
    key = keys.sent_message(contact_id, idempotency_key)
    return bool(await redis.set(key, SENDING, nx=True, ex=lease_s))


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
