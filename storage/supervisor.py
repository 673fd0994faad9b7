"""Watching Redis: the embedded server is started again when it dies; health is known at once.

A probe (``PING`` on a client of its own, with no retries) runs every
:data:`PROBE_INTERVAL_S`. :class:`Health` holds what the last probe found, so the
web app refuses work at once while Redis is away (``bot.gate``) instead of each
request waiting through the main client's retries. With the embedded server, a
probe that finds nothing listening starts the server again on the same data folder
(:meth:`storage.redis.EmbeddedRedis.revive`); with an external server the main
client reconnects by itself once the server is back (its retry policy), and the
probe only reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from storage.redis import (
    AppendFsync,
    EmbeddedRedis,
    EmbeddedRedisError,
    Probe,
    create_client,
    failed_probe,
    serving,
)

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 1.0


class Health:
    """Whether Redis answered the last probe; ``reason`` says why not."""

    def __init__(self) -> None:
        self.reason = ""
        self._up = True

    @property
    def up(self) -> bool:
        """True when the last probe was answered."""
        return self._up

    def mark_up(self) -> None:
        """Redis answers again."""
        if not self.up:
            log.warning("redis is available again")
        self.reason = ""
        self._up = True

    def mark_down(self, reason: str) -> None:
        """Redis did not answer; work is refused until :meth:`mark_up`."""
        if self.up:
            log.warning("redis unavailable: %s", reason)
        self.reason = reason
        self._up = False


class Supervisor:
    """Probes Redis and keeps :class:`Health` current; revives an embedded server that died."""

    def __init__(
        self,
        url: str,
        health: Health,
        embedded: EmbeddedRedis | None = None,
        *,
        interval_s: float = PROBE_INTERVAL_S,
    ) -> None:
        self.health = health
        self.embedded = embedded
        self.interval_s = interval_s
        self.restarts = 0
        self._stopping = asyncio.Event()
        self._probe_client = Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=PROBE_TIMEOUT_S,
            socket_timeout=PROBE_TIMEOUT_S,
        )

    async def run(self) -> None:
        """Probe until :meth:`stop`.

        Stopped by an event, not by cancelling: a cancellation that lands inside the
        client's connection handling can be lost, and the loop would never end.
        """
        try:
            while not self._stopping.is_set():
                try:
                    await self.check()
                except Exception:  # a bug here must not end supervision for good
                    log.exception("redis supervisor check failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval_s):
                        await self._stopping.wait()
        finally:
            await self.aclose()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the probe in progress."""
        self._stopping.set()

    async def aclose(self) -> None:
        """Close the probe's connection."""
        await self._probe_client.aclose()

    async def check(self) -> Probe:
        """One probe; revives a dead embedded server. Returns what the probe found."""
        found, detail = await self._probe()
        if found == "refused" and self.embedded is not None:
            self.health.mark_down(detail)
            found = await self._revive(self.embedded)
        if found == "ok":
            self.health.mark_up()
        else:
            self.health.mark_down(detail)
        return found

    async def _probe(self) -> tuple[Probe, str]:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await self._probe_client.ping()
        except (RedisError, OSError) as exc:
            return failed_probe(exc), str(exc) or type(exc).__name__
        return "ok", ""

    async def _revive(self, embedded: EmbeddedRedis) -> Probe:
        try:
            restarted = await asyncio.to_thread(embedded.revive)
        except EmbeddedRedisError as exc:
            log.error("could not start the embedded server again: %s", exc)
            return "refused"
        if restarted:
            self.restarts += 1
            log.warning("embedded server started again on %s", embedded.data_dir)
        found, _ = await self._probe()
        return found


@dataclass
class Connection:
    """The client, and what the supervisor knows of the server's health."""

    client: Redis
    health: Health


@asynccontextmanager
async def open_supervised(
    redis_url: str | None, data_dir: Path, appendfsync: AppendFsync = "everysec"
) -> AsyncIterator[Connection]:
    """Like :func:`storage.redis.open_redis`, with a supervisor running while it is open.

    The supervisor stops before the embedded server does, so it never revives a server
    that is being shut down on purpose.
    """
    async with serving(redis_url, data_dir, appendfsync) as (url, embedded):
        client = create_client(url)
        health = Health()
        supervisor = Supervisor(url, health, embedded)
        watching = asyncio.create_task(supervisor.run(), name="redis-supervisor")
        try:
            yield Connection(client, health)
        finally:
            supervisor.stop()
            await watching
            await client.aclose()
