"""Replies narrowed by storage.replies: what a decoding client returns, and a clear error
from a client that does not decode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from storage import contacts, keys
from storage.replies import (
    UndecodedReply,
    hash_fields,
    maybe_text,
    maybe_texts,
    scored,
    stream_entries,
    text,
    text_map,
    text_set,
    texts,
)

pytestmark = pytest.mark.cluster


async def test_a_hash_written_with_hash_fields_reads_back_as_text(redis):
    key = keys.contact("telegram:1")
    await redis.hset(key, mapping=hash_fields({"name": "李雷", "messages": 3, "score": 1.5}))
    assert text_map(await redis.hgetall(key)) == {"name": "李雷", "messages": "3", "score": "1.5"}
    assert maybe_texts(await redis.hmget(key, ["name", "absent"])) == ["李雷", None]
    assert text(await redis.hget(key, "messages")) == "3"
    assert maybe_text(await redis.hget(key, "absent")) is None
    assert text_map(await redis.hgetall(keys.contact("telegram:2"))) == {}


async def test_lists_sets_and_scores_keep_their_order_and_type(redis):
    await redis.zadd(keys.tickets_all(), {"T2": 2.5, "T1": 1.0})
    await redis.sadd(keys.staff(), "telegram:1", "wechat:o1")
    assert texts(await redis.zrange(keys.tickets_all(), 0, -1)) == ["T1", "T2"]
    pairs = scored(await redis.zrange(keys.tickets_all(), 0, -1, withscores=True))
    assert pairs == [("T1", 1.0), ("T2", 2.5)]
    assert text_set(await redis.smembers(keys.staff())) == {"telegram:1", "wechat:o1"}


async def test_stream_entries_come_newest_first_with_their_fields(redis):
    for action in ("tag", "close"):
        await redis.xadd(keys.audit_log(), hash_fields({"action": action, "at": 1.0}))
    entries = stream_entries(await redis.xrevrange(keys.audit_log()))
    assert [fields for _, fields in entries] == [
        {"action": "close", "at": "1.0"},
        {"action": "tag", "at": "1.0"},
    ]
    assert all(entry_id.count("-") == 1 for entry_id, _ in entries)
    assert stream_entries(None) == []


@pytest.fixture
async def raw_client(redis_url: str) -> AsyncIterator[Redis]:
    """A client left at redis-py's default: replies as bytes."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_a_client_that_does_not_decode_fails_at_its_first_reply(raw_client):
    await raw_client.hset(keys.contact("telegram:7"), mapping={"language": "zh"})
    await raw_client.sadd(keys.staff(), "telegram:7")
    try:
        with pytest.raises(UndecodedReply, match="decoded string reply, got bytes"):
            await contacts.get(raw_client, "telegram:7")
        with pytest.raises(UndecodedReply):
            text_set(await raw_client.smembers(keys.staff()))
    finally:
        await raw_client.delete(keys.contact("telegram:7"), keys.staff())


def test_a_scored_reply_must_be_pairs():
    with pytest.raises(UndecodedReply, match="pair, got str"):
        scored(["T1"])
    with pytest.raises(UndecodedReply, match="stream entry's fields, got str"):
        stream_entries([("1-0", "action")])
