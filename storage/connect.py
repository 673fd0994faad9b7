"""Opening the bot's Redis from its settings: one node, a cluster, or a Sentinel-watched primary.

Every entry point connects here, so every process builds its keys for its shop
(:func:`storage.keys.configure`) before it touches Redis.

- ``SHOPBOT_REDIS_SENTINELS`` set: redis-py's Sentinel client for the primary of
  ``SHOPBOT_REDIS_SENTINEL_SERVICE``. A connection error or a ``READONLY`` reply (the old
  primary came back as a replica) makes the client ask the Sentinels again; the retries
  span several seconds, longer than a failover with ``down-after-milliseconds`` 1000.
- ``SHOPBOT_REDIS_CLUSTER=true``: redis-py's cluster client, seeded by ``SHOPBOT_REDIS_URL``
  (any node); it learns the slot map and follows ``MOVED`` redirections.
- Otherwise ``SHOPBOT_REDIS_URL``, or the embedded server (:mod:`storage.redis`).

:func:`connect_supervised` (the bot's service) also watches one node or the embedded server
(:mod:`storage.supervisor`), reviving the embedded server when it dies; a cluster or a
Sentinel-watched primary is left to its client's retries, and its health is not probed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.settings import Settings
from storage import durability, keys
from storage.redis import TCP_READ_TIMEOUT_S, open_redis
from storage.supervisor import Connection, Health, open_supervised

FAILOVER_RETRIES = 12
"""Retries (jittered backoff up to 1 s each) that outlast a Sentinel failover."""


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Redis]:
    """The bot's client for ``settings``, closed on exit (keys built for ``settings.shop_id``)."""
    keys.configure(settings.shop_id)
    durability.configure(settings.redis_min_replicas)
    sentinel: Sentinel | None = None
    if settings.redis_sentinels:
        sentinel = sentinels(settings)
        client = sentinel_client(sentinel, settings)
    elif settings.redis_cluster:
        if settings.redis_url is None:  # the settings refuse this already
            raise ValueError("SHOPBOT_REDIS_CLUSTER needs SHOPBOT_REDIS_URL")
        client = cluster_client(settings.redis_url)
    else:
        async with open_redis(
            settings.redis_url, settings.data_dir, settings.redis_appendfsync
        ) as redis:
            yield redis
        return
    try:
        yield client
    finally:
        await client.aclose()
        if sentinel is not None:
            await _close_sentinels(sentinel)


@asynccontextmanager
async def connect_supervised(settings: Settings) -> AsyncIterator[Connection]:
    """Like :func:`connect`, with the client's :class:`~storage.supervisor.Health`."""
    if settings.redis_sentinels or settings.redis_cluster:
        async with connect(settings) as client:
            yield Connection(client, Health())
        return
    keys.configure(settings.shop_id)
    durability.configure(settings.redis_min_replicas)
    async with open_supervised(
        settings.redis_url, settings.data_dir, settings.redis_appendfsync
    ) as connection:
        yield connection


def _client_options(retries: int) -> dict[str, Any]:
    return {
        "decode_responses": True,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=retries),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "socket_connect_timeout": 2,
        "socket_timeout": TCP_READ_TIMEOUT_S,
    }


def cluster_client(url: str) -> Redis:
    """A cluster client seeded by the node at ``url``.

    Typed as :class:`Redis`: the storage code uses the commands both clients share, and every
    multi-key command stays in the shop's slot.
    """
    return cast(Redis, RedisCluster.from_url(url, **_client_options(retries=6)))


def sentinels(settings: Settings) -> Sentinel:
    """The Sentinels of ``settings``; close them with the client (:func:`_close_sentinels`)."""
    return Sentinel(
        settings.sentinel_addresses,
        sentinel_kwargs={"socket_connect_timeout": 1, "socket_timeout": 1},
    )


async def _close_sentinels(sentinel: Sentinel) -> None:
    """Close the connections the client opened to ask the Sentinels for the primary."""
    for each in sentinel.sentinels:
        await each.aclose()


def sentinel_client(sentinel: Sentinel, settings: Settings) -> Redis:
    """A client for the current primary of the Sentinels' service, following failovers."""
    client: Redis = sentinel.master_for(  # redis-py leaves its return type out
        settings.redis_sentinel_service,
        redis_class=Redis,
        **_client_options(retries=FAILOVER_RETRIES),
    )
    return client
