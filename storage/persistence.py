"""The append-only file, rewritten so that deleted data leaves the disk too.

Redis appends every write to its append-only file (AOF); a deleted value stays in the file
until Redis rewrites it from what the database holds now (``BGREWRITEAOF``). Plain commands
and ``INFO persistence`` only, so any Redis or Valkey server does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

from redis.asyncio import Redis
from redis.exceptions import ResponseError

POLL_S = 0.05
REWRITE_TIMEOUT_S = 600.0


class Rewrite(StrEnum):
    """What :func:`rewrite_append_only_file` found and did."""

    DONE = "done"
    """The file was rewritten: nothing deleted before the call is in it any more."""
    NO_AOF = "no-aof"
    """The server keeps no append-only file (``appendonly no``): nothing to rewrite."""


class RewriteFailed(RuntimeError):
    """The server could not rewrite its append-only file (see its log)."""


async def rewrite_append_only_file(
    redis: Redis,
    *,
    timeout_s: float = REWRITE_TIMEOUT_S,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Rewrite:
    """Rewrite the server's AOF and wait until the new file has replaced the old one.

    A rewrite already running may have started before the caller's deletions: it is
    waited for, then a new one is started.
    """
    deadline = time.monotonic() + timeout_s
    if not (await redis.info("persistence")).get("aof_enabled"):
        return Rewrite.NO_AOF
    while True:
        await _until_idle(redis, deadline, pause)
        try:
            await redis.bgrewriteaof()
        except ResponseError as exc:
            if "in progress" not in str(exc):
                raise RewriteFailed(str(exc)) from None
            continue  # another rewrite started in between: wait for it, then start ours
        break
    info = await _until_idle(redis, deadline, pause)
    if info.get("aof_last_bgrewrite_status", "ok") != "ok":
        raise RewriteFailed("the append-only file rewrite failed")
    return Rewrite.DONE


async def _until_idle(
    redis: Redis, deadline: float, pause: Callable[[float], Awaitable[None]]
) -> dict[str, object]:
    """``INFO persistence`` once no AOF rewrite is running or scheduled."""
    while True:
        info = await redis.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return info
        if time.monotonic() > deadline:
            raise RewriteFailed("the append-only file rewrite did not finish in time")
        await pause(POLL_S)
