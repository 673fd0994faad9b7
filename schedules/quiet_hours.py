"""Quiet hours: the local hours in which no marketing message goes out (default 21:00-09:00)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class QuietHours:
    """From ``start`` to ``end`` local time; wraps midnight when ``start`` > ``end``."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21:00-09:00"``."""
        start, _, end = text.partition("-")
        return cls(
            time.fromisoformat(start.strip().zfill(5)), time.fromisoformat(end.strip().zfill(5))
        )

    def contains(self, local: time) -> bool:
        """True when ``local`` is inside the quiet hours."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """None when ``now`` is outside the quiet hours, else when they end (aware, in ``tz``)."""
        local = now.astimezone(tz)
        if not self.contains(local.time().replace(tzinfo=None)):
            return None
        end_day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            end_day += timedelta(days=1)
        return datetime.combine(end_day, self.end, tzinfo=tz)
