"""At-most-once sending: an outbound message's idempotency key is claimed before it is sent.

A claim starts as a short lease (``sending``); a successful send turns it into a
long-lived ``sent`` marker; a send that reached nobody releases it, so a later
retry may try again. Retries inside one send (429, network errors) keep the claim.
"""

from __future__ import annotations

from redis.asyncio import Redis

from storage import keys

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
