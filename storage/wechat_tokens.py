"""The Official Account's access token, cached in Redis and shared by every process.

WeChat issues one valid token per account: each fetch invalidates the previous
one after a few minutes. So one process fetches (under a short lock) and the
others wait and read it; a token is only dropped by a process that saw that very
token rejected, never one another process fetched since.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from storage import keys
from storage.replies import maybe_text

LOCK_TTL_MS = 15_000
POLL_S = 0.05
REFRESH_EARLY_S = 300
"""Treat a token as expired this long before WeChat does."""

Fetch = Callable[[], Awaitable[tuple[str, int]]]
"""Fetches a fresh ``(token, expires_in_seconds)`` from WeChat."""

_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def get_or_fetch(redis: Redis, app_id: str, fetch: Fetch) -> str:
    """The cached token; if none, one process fetches it and the others wait for it."""
    key = keys.wechat_access_token(app_id)
    lock = keys.wechat_access_token_lock(app_id)
    deadline = time.monotonic() + LOCK_TTL_MS / 1000
    while True:
        token = maybe_text(await redis.get(key))
        if token:
            return token
        holder = uuid.uuid4().hex
        if await redis.set(lock, holder, nx=True, px=LOCK_TTL_MS):
            try:
                return await _fetch_and_store(redis, key, fetch)
            finally:
                await redis.eval(_DELETE_IF_EQUAL, 1, lock, holder)
        if time.monotonic() > deadline:
            raise TimeoutError("another process holds the WeChat token lock too long")
        await asyncio.sleep(POLL_S)


async def _fetch_and_store(redis: Redis, key: str, fetch: Fetch) -> str:
    stored = maybe_text(await redis.get(key))  # stored while we waited for the lock
    if stored:
        return stored
    token, expires_in = await fetch()
    await redis.set(key, token, ex=max(60, expires_in - REFRESH_EARLY_S))
    return token


async def invalidate(redis: Redis, app_id: str, rejected: str) -> None:
    """Drop the cached token if it is still the one WeChat just rejected."""
    await redis.eval(_DELETE_IF_EQUAL, 1, keys.wechat_access_token(app_id), rejected)
