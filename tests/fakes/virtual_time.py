"""A virtual monotonic clock for code that takes a ``Timer``: sleeping advances it at once."""

from __future__ import annotations

import asyncio


class VirtualTimer:
    """``clock()`` and ``sleep()`` on virtual time; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        """The virtual time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds`` and let other tasks run."""
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)
