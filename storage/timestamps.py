"""Timestamps as Redis stores them: epoch seconds, read back as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def to_epoch(moment: datetime) -> float:
    """Epoch seconds of an aware datetime; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every datetime must be timezone-aware")
    return round(moment.timestamp(), 3)


def from_epoch(value: str | float) -> datetime:
    """An aware UTC datetime from epoch seconds (as stored, possibly a string)."""
    return datetime.fromtimestamp(float(value), tz=UTC)
