"""Records kept until settled: the oldest left behind are found, settled ones drop out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import keys, pending_records
from storage.timestamps import to_epoch

pytestmark = pytest.mark.cluster

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def _keep(redis, record_id: str, at: datetime, record: str | None) -> None:
    if record is not None:
        await redis.hset(keys.outbox(), record_id, record)
    await redis.zadd(keys.outbox_by_time(), {record_id: to_epoch(at)})


async def _older_than(redis, before: datetime, limit: int = 10) -> list[tuple[str, str]]:
    return await pending_records.older_than(
        redis, keys.outbox(), keys.outbox_by_time(), before, limit
    )


async def test_records_written_before_a_time_come_oldest_first_up_to_the_limit(redis) -> None:
    await _keep(redis, "b", NOW - timedelta(minutes=2), "second")
    await _keep(redis, "a", NOW - timedelta(minutes=3), "first")
    await _keep(redis, "c", NOW - timedelta(minutes=1), "third")
    await _keep(redis, "late", NOW, "not yet")

    assert await _older_than(redis, NOW) == [("a", "first"), ("b", "second"), ("c", "third")]
    assert await _older_than(redis, NOW, limit=2) == [("a", "first"), ("b", "second")]


async def test_an_index_entry_whose_record_was_settled_is_dropped(redis) -> None:
    await _keep(redis, "gone", NOW - timedelta(minutes=2), None)
    await _keep(redis, "kept", NOW - timedelta(minutes=1), "still here")

    assert await _older_than(redis, NOW) == [("kept", "still here")]
    assert await redis.zrange(keys.outbox_by_time(), 0, -1) == ["kept"]


async def test_nothing_left_behind_reads_nothing(redis) -> None:
    assert await _older_than(redis, NOW) == []
