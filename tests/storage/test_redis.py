"""The embedded server: persistence, sharing one data folder, outages."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from support import FIXED_NOW, make_dispatcher

from bot.messages import MessageKind
from storage import contacts
from storage.redis import EmbeddedRedis, create_client, open_redis


async def test_data_survives_a_restart(tmp_path):
    async with open_redis(None, tmp_path) as redis:
        await contacts.touch(redis, "console:amy", FIXED_NOW)
    assert not (tmp_path / "redis.sock").exists(), "the last user shuts the server down"
    async with open_redis(None, tmp_path) as redis:
        contact = await contacts.touch(redis, "console:amy", FIXED_NOW)
    assert contact.message_count == 2


def test_second_process_joins_and_last_one_out_stops_it(tmp_path):
    first, second = EmbeddedRedis(tmp_path), EmbeddedRedis(tmp_path)
    first.start()
    second.start()
    try:
        assert not first.reused and second.reused
        first.stop()
        assert second._answers_ping(), "a server still in use must keep running"
    finally:
        second.stop()
    assert not first._answers_ping()


def test_long_data_dir_gets_a_short_socket_path(tmp_path):
    deep = tmp_path / ("x" * 120)
    server = EmbeddedRedis(deep)
    assert len(str(server.socket_path)) < 108
    server.start()
    try:
        assert server._answers_ping()
    finally:
        server.stop()


async def test_dispatch_fails_loudly_while_redis_is_down_and_recovers(
    tmp_path, settings, make_message
):
    server = EmbeddedRedis(tmp_path / "outage", persistent=False)
    client = create_client(server.start())
    try:
        dispatcher = make_dispatcher(client, settings)
        await dispatcher.dispatch(make_message("hi", message_id="before"))
        await asyncio.to_thread(server.stop)

        lost = make_message("你好", message_id="during")
        with pytest.raises(RedisConnectionError):
            await dispatcher.dispatch(lost)

        await asyncio.to_thread(server.start)
        retried = await dispatcher.dispatch(lost)
        assert not retried.duplicate and retried.replies[0].text.startswith("您好")
        assert retried.message.kind is MessageKind.TEXT
    finally:
        await client.aclose()
        server.stop()
