"""Writes that must survive a failover wait until replicas hold them (``WAIT``).

Redis replicates asynchronously: a primary that dies right after acknowledging a write
may take it with it, and the replica Sentinel promotes never saw it. With
``SHOPBOT_REDIS_MIN_REPLICAS`` set, the writes whose loss would matter (orders, send
claims, the follow-up queue's state changes) end with :func:`barrier`: a write of a
marker key and ``WAIT`` on the same connection. ``WAIT`` waits for the replication
offset of that connection's last write, and the replication stream is ordered, so every
earlier write of every client (ours included) is on the replicas when it returns.

The setting is process-wide, like the shop id: :func:`storage.connect.connect` calls
:func:`configure`.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage import keys

WAIT_TIMEOUT_MS = 2000
"""How long a durable write waits for its replicas before it counts as failed."""

_min_replicas = 0


class ReplicationError(RedisError):
    """Too few replicas confirmed a durable write in time: it may be lost in a failover.

    A :class:`RedisError`, so callers treat it as Redis trouble (an HTTP 503, a retry).
    """


def configure(min_replicas: int) -> None:
    """Make every durable write wait for ``min_replicas`` replicas (0: do not wait)."""
    global _min_replicas
    if min_replicas < 0:
        raise ValueError("min_replicas must be 0 or more")
    _min_replicas = min_replicas


def min_replicas() -> int:
    """How many replicas a durable write waits for."""
    return _min_replicas


async def barrier(redis: Redis) -> None:
    """Return once ``min_replicas`` replicas hold every write made so far; else raise.

    Raises :class:`ReplicationError` when they do not confirm within :data:`WAIT_TIMEOUT_MS`.
    """
    if not _min_replicas:
        return
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(keys.replication_mark())
        pipe.execute_command("WAIT", _min_replicas, WAIT_TIMEOUT_MS)
        _, confirmed = await pipe.execute()
    if int(confirmed) < _min_replicas:
        raise ReplicationError(
            f"{confirmed} of {_min_replicas} replicas confirmed the write in {WAIT_TIMEOUT_MS} ms"
        )
