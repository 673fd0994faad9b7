"""Refuses any connection the tests open beyond this machine's loopback.

Tests reach Redis and the platform fakes on 127.0.0.1 only; a connection anywhere
else (or a DNS lookup of another host) is a bug in the test or in the code under
test. The guard raises where the connection is made and also remembers the refusal,
so the test fails even when the code under test swallows the error.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LOCAL_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})
UNSPECIFIED = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - bind addresses, never dialled


class NonLoopbackConnection(RuntimeError):
    """A test tried to reach a host other than this machine's loopback."""


_refusals: list[str] = []


def take_refusals() -> list[str]:
    """The refusals since the last call (and forget them)."""
    taken = list(_refusals)
    _refusals.clear()
    return taken


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) is loopback, decided without any lookup."""
    name = host.strip("[]").lower()
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _refuse(what: str) -> NonLoopbackConnection:
    _refusals.append(what)
    return NonLoopbackConnection(f"tests may only connect to loopback, not {what}")


def _check_address(family: int, address: Any) -> None:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return  # unix sockets and the like never leave the machine
    host, port = address[0], address[1]
    if not is_loopback(str(host)):
        raise _refuse(f"{host}:{port}")


def _guarded_connect(real: Callable[..., Any]) -> Callable[..., Any]:
    def connect(self: socket.socket, address: Any) -> Any:
        _check_address(self.family, address)
        return real(self, address)

    return connect


def _guarded_getaddrinfo(real: Callable[..., Any]) -> Callable[..., Any]:
    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        text = host.decode() if isinstance(host, bytes) else host
        if text is not None and text not in UNSPECIFIED and not is_loopback(text):
            raise _refuse(f"a lookup of {text}")
        return real(host, port, *args, **kwargs)

    return getaddrinfo


@contextmanager
def loopback_only() -> Iterator[None]:
    """Within the block, refuse connections and lookups beyond loopback."""
    originals = (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)
    socket.socket.connect = _guarded_connect(originals[0])  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect(originals[1])  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo(originals[2])
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = originals  # type: ignore[method-assign]
