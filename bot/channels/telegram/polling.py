"""Long polling (``getUpdates``) for when the bot has no public webhook URL.

An update is confirmed (the next ``offset`` moves past it) only once it was
handled. If Redis is unreachable the offset stays, and the same updates are
fetched again after a pause; the dispatcher's dedupe drops any already handled.

With a :class:`storage.leases.Lease`, only the process holding it polls (Telegram
allows one ``getUpdates`` caller per bot); it renews the lease before every
``getUpdates``, and the others stand by and take over once it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError
from telegram import Bot, Update
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.channels.telegram.parsing import ALLOWED_UPDATES
from bot.channels.telegram.sender import TelegramRetry, retry_after_seconds
from bot.dispatcher import StorageUnavailable
from storage.leases import Lease

log = logging.getLogger(__name__)

HandleUpdate = Callable[[Update], Awaitable[None]]


class Poller:
    """Fetches updates until told to stop, handing each to ``handle`` in order."""

    def __init__(
        self,
        bot: Bot,
        handle: HandleUpdate,
        *,
        timeout_s: int = 25,
        retry: TelegramRetry | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.bot = bot
        self.handle = handle
        self.timeout_s = timeout_s
        self.lease = lease
        self.leading = lease is None
        """True while this process is the one polling."""
        self.retry = retry or TelegramRetry(backoff_base_s=1.0, backoff_cap_s=30.0)
        self.offset: int | None = None
        self._stopping = asyncio.Event()
        self._failures = 0

    def stop(self) -> None:
        """Ask :meth:`run` to return; a pending ``getUpdates`` is abandoned."""
        self._stopping.set()

    async def run(self) -> None:
        """Poll until :meth:`stop`; then confirm what was handled, so it is not redelivered."""
        while not self._stopping.is_set():
            if not await self._hold_lease():
                await self.pause(self.lease.ttl_s / 3 if self.lease else 1.0)
                continue
            updates = await self._next_batch()
            for update in updates:
                if not await self._handle(update):
                    break
                self.offset = update.update_id + 1
        if self.leading:
            await self._confirm()
        await self._release_lease()

    async def _hold_lease(self) -> bool:
        """Take or renew the lease; False while another process polls (or Redis is away)."""
        if self.lease is None:
            return True
        try:
            held = await self.lease.hold()
        except RedisError as exc:
            log.warning("telegram polling paused, redis unavailable: %s", exc)
            held = False
        if held != self.leading:
            log.info("telegram: %s", "polling" if held else "another process polls; standing by")
            self.leading = held
        return held

    async def _release_lease(self) -> None:
        if self.lease is None or not self.leading:
            return
        try:
            await self.lease.release()
        except RedisError as exc:  # it expires by itself
            log.info("could not release the telegram polling lease: %s", exc)
        self.leading = False

    async def _handle(self, update: Update) -> bool:
        """False when the update must be fetched again (storage down)."""
        try:
            await self.handle(update)
        except StorageUnavailable as exc:
            log.warning(
                "redis unavailable; telegram update %s will be retried: %s", update.update_id, exc
            )
            await self.pause(self._next_backoff())
            return False
        except Exception:
            # A poison update must not block every update after it.
            log.exception("telegram update %s failed; skipped", update.update_id)
        self._failures = 0
        return True

    async def _next_batch(self) -> tuple[Update, ...]:
        fetch = asyncio.ensure_future(
            self.bot.get_updates(
                offset=self.offset, timeout=self.timeout_s, allowed_updates=ALLOWED_UPDATES
            )
        )
        stopped = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return ()
        try:
            updates = fetch.result()
        except RetryAfter as exc:
            await self.pause(retry_after_seconds(exc))
            return ()
        except InvalidToken:
            raise
        except TelegramError as exc:  # network trouble, or a Conflict with another poller
            log.warning("telegram getUpdates failed: %s", exc)
            await self.pause(self._next_backoff())
            return ()
        self._failures = 0
        return updates

    def _next_backoff(self) -> float:
        delay = self.retry.backoff(self._failures)
        self._failures += 1
        return delay

    async def pause(self, seconds: float) -> bool:
        """Sleep, but wake up at once when asked to stop; True when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        return self._stopping.is_set()

    async def _confirm(self) -> None:
        if self.offset is None:
            return
        try:
            await self.bot.get_updates(offset=self.offset, timeout=0, limit=1)
        except TelegramError as exc:
            log.info("could not confirm telegram updates before stopping: %s", exc)
