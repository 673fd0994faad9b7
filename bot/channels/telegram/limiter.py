"""Telegram's flood limits, kept on our side so the Bot API never has to answer 429.

Shared by every chat: a token bucket that spaces messages at 30/s, and a sliding
window that lets at most 29 leave in any second (Telegram's "about 30"). The
window is what keeps us safe from jitter: a message leaves when it is counted
but arrives a little later, and 31 arrivals within one second would need 31
sends spread over at least 1.066 s to bunch up by more than 66 ms. Per chat: a
bucket of 1/s with a burst of 2, and for groups a second one of 20/min, each
run 3% under Telegram's figure.

The shared limits are taken under an :class:`asyncio.Lock`, which wakes waiters
in the order they came, so no chat starves.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

Monotonic = Callable[[], float]
"""Seconds on a monotonic clock (``time.monotonic``), not the wall clock of ``Clock``."""
Sleep = Callable[[float], Awaitable[None]]
_EPSILON = 1e-9  # a token short by a rounding error is a token
SWEEP_AT = 4096
"""Chats remembered before idle ones (full buckets, nothing to remember) are dropped."""


@dataclass(frozen=True, slots=True)
class Timer:
    """A monotonic clock and the matching sleep; tests pass a virtual one."""

    clock: Monotonic = time.monotonic
    sleep: Sleep = asyncio.sleep


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """Rates (per second) and bursts of the three limits. The defaults follow Telegram's FAQ."""

    global_rate: float = 30.0
    global_burst: float = 1.5
    """Pacing only: the bucket may catch up on a late wake-up, the window caps the rate."""
    chat_rate: float = 1.0
    chat_burst: float = 2.0
    group_rate: float = 20 / 60
    group_burst: float = 1.0
    safety: float = 0.97
    """Fraction of each rate actually used."""


class Limit(Protocol):
    """One rule on when the next message may go."""

    def delay(self, now: float) -> float:
        """Seconds until one more message is allowed (0 = now)."""

    def take(self, now: float) -> None:
        """Count one message sent at ``now``."""

    def pause(self, until: float) -> None:
        """Allow nothing before ``until``."""

    def is_idle(self, now: float) -> bool:
        """Forgetting this limit's state would change nothing."""


class SlidingWindow:
    """At most ``limit`` messages within any ``window`` seconds."""

    def __init__(self, limit: int, window: float, now: float) -> None:
        self.limit = limit
        self.window = window
        self._sent: deque[float] = deque()
        self._paused_until = now

    def delay(self, now: float) -> float:
        """Seconds until the oldest message in the window leaves it (0 when there is room)."""
        self._expire(now)
        wait = self._sent[0] + self.window - now if len(self._sent) >= self.limit else 0.0
        return max(wait, self._paused_until - now, 0.0)

    def take(self, now: float) -> None:
        """Count one message."""
        self._sent.append(now)

    def pause(self, until: float) -> None:
        """Nothing before ``until``."""
        self._paused_until = max(self._paused_until, until)

    def is_idle(self, now: float) -> bool:
        """Nothing in the window and not paused."""
        self._expire(now)
        return not self._sent and self._paused_until <= now

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``; starts full."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = now
        self._paused_until = now

    def delay(self, now: float) -> float:
        """Seconds until one token is there (0 when one is there now)."""
        missing = 1.0 - self._level(now)
        wait = missing / self.rate if missing > _EPSILON else 0.0
        return max(wait, self._paused_until - now, 0.0)

    def take(self, now: float) -> None:
        """Use one token (the caller waited for :meth:`delay` first)."""
        self._tokens = max(self._level(now) - 1.0, 0.0)
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
        now = self.timer.clock()
        limits = self.limits
        self._global: tuple[Limit, ...] = (
            TokenBucket(limits.global_rate, limits.global_burst, now),
            SlidingWindow(math.floor(limits.global_rate * limits.safety), 1.0, now),
        )
        self._chats: dict[str, tuple[Limit, ...]] = {}

    async def acquire(self, chat_id: str) -> None:
        """Wait until a message to ``chat_id`` may be sent, and count it as sent now.

        Only one task per chat may call this at a time (the sender's chat worker).
        """
        chat = self._chat_buckets(chat_id)
        await self._wait_for(chat)
        async with self._lock:
            await self._wait_for((*self._global, *chat))
            now = self.timer.clock()
            for limit in (*self._global, *chat):
                limit.take(now)

    def pause(self, chat_id: str, seconds: float) -> None:
        """Telegram answered 429 with ``retry_after``: hold that chat and everyone else."""
        until = self.timer.clock() + seconds
        for limit in (*self._global, *self._chat_buckets(chat_id)):
            limit.pause(until)

    async def _wait_for(self, limits: tuple[Limit, ...]) -> None:
        while True:
            delay = max(limit.delay(self.timer.clock()) for limit in limits)
            if delay <= 0:
                return
            await self.timer.sleep(delay)

    def _chat_buckets(self, chat_id: str) -> tuple[Limit, ...]:
        if (buckets := self._chats.get(chat_id)) is None:
            if len(self._chats) >= SWEEP_AT:
                self._drop_idle_chats()
            limits = self.limits
            buckets = (self._bucket(limits.chat_rate, limits.chat_burst),)
            if is_group_chat(chat_id):
                buckets += (self._bucket(limits.group_rate, limits.group_burst),)
            self._chats[chat_id] = buckets
        return buckets

    def _drop_idle_chats(self) -> None:
        now = self.timer.clock()
        idle = [c for c, buckets in self._chats.items() if all(b.is_idle(now) for b in buckets)]
        for chat_id in idle:
            del self._chats[chat_id]

    def _bucket(self, rate: float, burst: float) -> TokenBucket:
        return TokenBucket(rate * self.limits.safety, burst, self.timer.clock())


def is_group_chat(chat_id: str) -> bool:
    """Groups, supergroups and channels have negative ids; private chats positive ones."""
    return chat_id.startswith("-")
