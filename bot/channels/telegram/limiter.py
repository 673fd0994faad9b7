"""Telegram's flood limits, kept on our side so the Bot API never has to answer 429.

Token buckets: one shared by every chat (about 30 messages/s), one per chat
(1/s with a short burst) and, for groups, a second per chat (20/min). The shared
bucket is taken under an :class:`asyncio.Lock`, which wakes waiters in the order
they came, so no chat starves. Rates run a few percent under Telegram's figures:
a message leaves when its tokens are taken but arrives a little later, and the
margin absorbs that jitter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
SWEEP_AT = 4096
"""Chats remembered before idle ones (full buckets, nothing to remember) are dropped."""


@dataclass(frozen=True, slots=True)
class Timer:
    """A monotonic clock and the matching sleep; tests pass a virtual one."""

    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """Rates (per second) and bursts of the three limits. The defaults follow Telegram's FAQ."""

    global_rate: float = 30.0
    global_burst: int = 1
    chat_rate: float = 1.0
    chat_burst: int = 2
    group_rate: float = 20 / 60
    group_burst: int = 1
    safety: float = 0.97
    """Fraction of each rate actually used."""


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``; starts full."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._updated = now
        self._paused_until = now

    def delay(self, now: float) -> float:
        """Seconds until one token is there (0 when one is there now)."""
        missing = 1.0 - self._level(now)
        wait = missing / self.rate if missing > 0 else 0.0
        return max(wait, self._paused_until - now, 0.0)

    def take(self, now: float) -> None:
        """Use one token (the caller waited for :meth:`delay` first)."""
        self._tokens = self._level(now) - 1.0
        self._updated = now

    def pause(self, until: float) -> None:
        """No token before ``until``; the bucket is empty afterwards (Telegram asked us to wait)."""
        if until > self._paused_until:
            self._paused_until = until
            self._tokens = 0.0
            self._updated = until

    def is_idle(self, now: float) -> bool:
        """Full and not paused: forgetting the bucket changes nothing."""
        return self._level(now) >= self.burst and self._paused_until <= now

    def _level(self, now: float) -> float:
        elapsed = max(now - self._updated, 0.0)
        return min(self.burst, self._tokens + elapsed * self.rate)


class FloodLimiter:
    """Decides when the next message to a chat may leave."""

    def __init__(self, limits: FloodLimits | None = None, timer: Timer | None = None) -> None:
        self.limits = limits or FloodLimits()
        self.timer = timer or Timer()
        self._lock = asyncio.Lock()
        self._global = self._bucket(self.limits.global_rate, self.limits.global_burst)
        self._chats: dict[str, tuple[TokenBucket, ...]] = {}

    async def acquire(self, chat_id: str) -> None:
        """Wait until a message to ``chat_id`` may be sent, and count it as sent now.

        Only one task per chat may call this at a time (the sender's chat worker).
        """
        chat = self._chat_buckets(chat_id)
        await self._wait_for(chat)
        async with self._lock:
            await self._wait_for((self._global, *chat))
            now = self.timer.clock()
            for bucket in (self._global, *chat):
                bucket.take(now)

    def pause(self, chat_id: str, seconds: float) -> None:
        """Telegram answered 429 with ``retry_after``: hold that chat and everyone else."""
        until = self.timer.clock() + seconds
        self._global.pause(until)
        for bucket in self._chat_buckets(chat_id):
            bucket.pause(until)

    async def _wait_for(self, buckets: tuple[TokenBucket, ...]) -> None:
        while True:
            delay = max(b.delay(self.timer.clock()) for b in buckets)
            if delay <= 0:
                return
            await self.timer.sleep(delay)

    def _chat_buckets(self, chat_id: str) -> tuple[TokenBucket, ...]:
        buckets = self._chats.get(chat_id)
        if buckets is None:
            if len(self._chats) >= SWEEP_AT:
                self._drop_idle_chats()
            limits = self.limits
            per_chat = self._bucket(limits.chat_rate, limits.chat_burst)
            if is_group_chat(chat_id):
                buckets = (per_chat, self._bucket(limits.group_rate, limits.group_burst))
            else:
                buckets = (per_chat,)
            self._chats[chat_id] = buckets
        return buckets

    def _drop_idle_chats(self) -> None:
        now = self.timer.clock()
        idle = [c for c, buckets in self._chats.items() if all(b.is_idle(now) for b in buckets)]
        for chat_id in idle:
            del self._chats[chat_id]

    def _bucket(self, rate: float, burst: int) -> TokenBucket:
        return TokenBucket(rate * self.limits.safety, burst, self.timer.clock())


def is_group_chat(chat_id: str) -> bool:
    """Groups, supergroups and channels have negative ids; private chats positive ones."""
    return chat_id.startswith("-")
