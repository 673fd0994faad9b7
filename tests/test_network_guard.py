"""The guard in tests/conftest.py: loopback connections pass, anything else is refused."""

from __future__ import annotations

import asyncio
import socket

import network_guard
import pytest


def test_a_loopback_connection_goes_through() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    assert network_guard.take_refusals() == []


@pytest.mark.parametrize("host", ["192.0.2.1", "2001:db8::1", "10.0.0.1"])
def test_a_connection_beyond_loopback_is_refused_and_remembered(host: str) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with (
        socket.socket(family, socket.SOCK_STREAM) as sock,
        pytest.raises(network_guard.NonLoopbackConnection),
    ):
        sock.connect((host, 80))
    assert network_guard.take_refusals() == [f"{host}:80"]


def test_a_lookup_of_another_host_is_refused_before_any_dns() -> None:
    with pytest.raises(network_guard.NonLoopbackConnection, match=r"example\.com"):
        socket.getaddrinfo("example.com", 443)
    assert network_guard.take_refusals() == ["a lookup of example.com"]


async def test_asyncio_connections_are_guarded_too() -> None:
    with pytest.raises(network_guard.NonLoopbackConnection):
        await asyncio.open_connection("192.0.2.1", 80)
    assert network_guard.take_refusals() == ["192.0.2.1:80"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("192.168.1.2", False),
        ("redis.example.com", False),
    ],
)
def test_is_loopback_decides_without_a_lookup(host: str, loopback: bool) -> None:
    assert network_guard.is_loopback(host) is loopback
