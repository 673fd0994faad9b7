"""Timestamps as Redis stores them: epoch seconds, read back as aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""What tells the time: :func:`utc_now`, or a test's movable clock."""


def utc_now() -> datetime:
    """The real clock (timezone-aware, UTC)."""
    return datetime.now(UTC)


def to_epoch(moment: datetime) -> float:
    """Epoch seconds of an aware datetime; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every datetime must be timezone-aware")
    return round(moment.timestamp(), 3)


def from_epoch(value: str | float) -> datetime:
    """An aware UTC datetime from epoch seconds (as stored, possibly a string)."""
    return datetime.fromtimestamp(float(value), tz=UTC)
