"""Fault scenarios: real ``python -m bot run`` processes and their real embedded server.

A :class:`Shop` is one data folder. Its bots are subprocesses started, stopped and
killed by the scenario; the embedded server is the one the first bot starts (in a
session of its own, so it outlives a bot killed with ``SIGKILL``). Every message goes
to terminal contacts, one follow-up per contact, so a contact's mailbox length is how
many times that follow-up reached the customer: 0 is lost (unless its state says the
outcome is unknown), 2 or more is duplicated.

Shared by ``tests/bot/test_faults.py`` and ``bench/faults.py``. A subprocess gives no
clock to inject: waits poll, at :data:`POLL_S`, up to a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import redis as sync_redis
from redis.asyncio import Redis
from support import PROJECT_ROOT, PYTHON, bot_env, free_port

from bot.messages import Purpose
from storage import contacts, followups, keys
from storage.followups import Followup, Record
from storage.redis import EmbeddedRedis, create_client

POLL_S = 0.05
START_TIMEOUT_S = 60.0
UNKNOWN_OUTCOME = frozenset({"uncertain"})
"""States saying the send's outcome is unknown: not sent, not lost, shown to the owner."""
API_KEY = "fault-key"


@dataclass(frozen=True)
class Tally:
    """What the customers received, against what was queued."""

    queued: int
    lost: int
    duplicated: int
    uncertain: int
    lost_as: tuple[str, ...] = ()
    """How the lost ones' follow-ups ended (state: reason), so a failure explains itself."""

    def lines(self) -> str:
        """The tally as ``name: value`` lines."""
        return "\n".join(
            f"{name}: {getattr(self, name)}" for name in ("lost", "duplicated", "uncertain")
        )


class Shop:
    """One data folder, with bot processes started, stopped and killed on it."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.socket = EmbeddedRedis(data_dir).socket_path
        self.env = bot_env(
            SHOPBOT_DATA_DIR=str(data_dir),
            SHOPBOT_HTTP_PORT=str(self.port),
            SHOPBOT_REDIS_APPENDFSYNC="always",
            SHOPBOT_FOLLOWUP_TICK_S="0.1",
            SHOPBOT_FOLLOWUP_LEASE_S="5",
            SHOPBOT_FOLLOWUP_BATCH="50",
            SHOPBOT_FOLLOWUP_QUIET_HOURS="00:00-00:00",
            SHOPBOT_CAMPAIGN_TICK_S="0.2",
            SHOPBOT_API_KEY=API_KEY,
            SHOPBOT_OWNERS="console:owner",
            SHOPBOT_LOG_LEVEL="WARNING",
            **env,
        )
        self.bot: asyncio.subprocess.Process | None = None
        self._http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=5)

    async def start_bot(self) -> None:
        """Start ``python -m bot run`` and wait until ``/healthz`` answers 200."""
        with (self.data_dir.parent / "bot.log").open("ab") as log:
            self.bot = await asyncio.create_subprocess_exec(
                PYTHON,
                "-m",
                "bot",
                "run",
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        await self.wait_healthy(START_TIMEOUT_S)

    def signal_bot(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the running bot (``SIGKILL``, ``SIGTERM``)."""
        assert self.bot is not None
        self.bot.send_signal(sig)

    async def bot_exit(self, timeout_s: float = 60) -> int:
        """Wait for the bot to end; its exit status."""
        assert self.bot is not None
        async with asyncio.timeout(timeout_s):
            code = await self.bot.wait()
        self.bot = None
        return code

    async def healthy(self) -> bool:
        """True when ``/healthz`` answers 200."""
        try:
            return (await self._http.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    async def wait_healthy(self, timeout_s: float) -> float:
        """Seconds until ``/healthz`` answers 200; raises after ``timeout_s``."""
        started = time.monotonic()
        while not await self.healthy():
            if self.bot is not None and self.bot.returncode is not None:
                raise AssertionError(f"the bot exited with {self.bot.returncode}: {self.log()}")
            if time.monotonic() - started > timeout_s:
                raise AssertionError(f"/healthz not 200 after {timeout_s}s: {self.log()}")
            await asyncio.sleep(POLL_S)
        return time.monotonic() - started

    def server_pid(self) -> int:
        """The embedded server's process id (whoever started it)."""
        with sync_redis.Redis(unix_socket_path=str(self.socket)) as probe:
            return int(probe.info("server")["process_id"])

    def kill_server(self) -> int:
        """``kill -9`` the embedded server; returns the id of the process killed."""
        pid = self.server_pid()
        os.kill(pid, signal.SIGKILL)
        return pid

    def client(self) -> Redis:
        """A client on the embedded server (the scenario's own view of Redis)."""
        return create_client(f"unix://{self.socket}")

    async def post_order(self, order_id: str, contact_id: str) -> int:
        """``POST /api/orders`` a paid order; the HTTP status (0 when nothing answered)."""
        body = {
            "id": order_id,
            "contact": contact_id,
            "status": "paid",
            "items": [{"sku": "tea-250g", "name": "Tea", "qty": 1, "price": 59.0}],
        }
        headers = {"Authorization": f"Bearer {API_KEY}"}
        try:
            return (await self._http.post("/api/orders", json=body, headers=headers)).status_code
        except httpx.TransportError:
            return 0

    async def order_until_acknowledged(
        self, order_id: str, contact_id: str, timeout_s: float = 30
    ) -> list[int]:
        """Post the order again until it is acknowledged (200), as a shop system would;
        returns the statuses of the refused attempts (503 or 0 while Redis is away)."""
        refused: list[int] = []
        deadline = time.monotonic() + timeout_s
        while (status := await self.post_order(order_id, contact_id)) != 200:
            refused.append(status)
            if status not in (0, 503) or time.monotonic() > deadline:
                raise AssertionError(f"order {order_id}: {refused}; {self.log()}")
            await asyncio.sleep(POLL_S)
        return refused

    def log(self, tail: int | None = 3000) -> str:
        """The bots' stderr so far (its last ``tail`` characters; None: all of it)."""
        path = self.data_dir.parent / "bot.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text if tail is None else text[-tail:]

    async def close(self) -> None:
        """Stop a bot still running (SIGTERM, then SIGKILL) and the scenario's HTTP client."""
        if self.bot is not None and self.bot.returncode is None:
            self.bot.terminate()
            try:
                await self.bot_exit(30)
            except TimeoutError:
                self.bot.kill()
                await self.bot.wait()
        await self._http.aclose()
        if self.socket.exists():  # a server left by a killed bot: join it, then leave last
            leftover = EmbeddedRedis(self.data_dir)
            await asyncio.to_thread(leftover.start)
            await asyncio.to_thread(leftover.stop)


def notice(n: int, due: datetime, prefix: str = "fault") -> Followup:
    """A transactional follow-up to its own terminal contact ``console:<prefix><n>``."""
    return Followup(
        f"order:{prefix}{n}:paid",
        f"console:{prefix}{n}",
        due,
        "payment_thanks",
        Purpose.TRANSACTIONAL,
        data={"order_id": f"{prefix}{n}"},
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def spread(count: int, over_s: float, prefix: str = "fault") -> list[Followup]:
    """``count`` notices due evenly over the next ``over_s`` seconds (so a fault lands
    mid-dispatch whatever the machine's speed)."""
    start = datetime.now(UTC)
    step = timedelta(seconds=over_s / max(count, 1))
    return [notice(n, start + n * step, prefix) for n in range(count)]


async def make_contacts(redis: Redis, contact_ids: Iterable[str]) -> None:
    """Contacts who wrote a day ago, in English."""
    seen = datetime.now(UTC) - timedelta(days=1)
    for contact_id in contact_ids:
        await contacts.touch(redis, contact_id, seen, language="en")


async def received(
    redis: Redis, contact_ids: Sequence[str], markers: Sequence[str] | None = None
) -> list[int]:
    """How many messages each contact's mailbox holds (only those whose text contains the
    contact's marker, when ``markers`` are given: a buyer also gets membership news)."""
    async with redis.pipeline(transaction=False) as pipe:
        for contact_id in contact_ids:
            pipe.lrange(keys.mailbox(contact_id), 0, -1)
        boxes = await pipe.execute()
    if markers is None:
        return [len(box) for box in boxes]
    return [
        sum(1 for mail in box if marker in json.loads(mail)["text"])
        for box, marker in zip(boxes, markers, strict=True)
    ]


async def wait_delivered(redis: Redis, contact_ids: Sequence[str], at_least: int) -> None:
    """Wait until ``at_least`` of the contacts received something (the fault lands then)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while sum(1 for n in await received(redis, contact_ids) if n) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {at_least} delivered in {START_TIMEOUT_S}s")
        await asyncio.sleep(POLL_S)


async def wait_finished(redis: Redis, timeout_s: float, *, due_by: datetime | None = None) -> None:
    """Wait until no follow-up is in flight or due, counting as due those due by ``due_by``
    (the last of the items a test queued): one not due yet is still to come, not finished.
    Later ones, such as an order's repurchase reminder, wait for their time."""
    deadline = time.monotonic() + timeout_s
    while left := await followups.pending(redis, max(datetime.now(UTC), due_by or _EPOCH), 3):
        if time.monotonic() > deadline:
            waiting = [(r.followup.id, r.state.value, r.reason) for r in left]
            raise AssertionError(f"follow-ups not finished after {timeout_s}s, e.g. {waiting}")
        await asyncio.sleep(POLL_S)


async def _outcome(redis: Redis, record: Record) -> str:
    """How a follow-up stands, for a failure message: its state, reason, attempts, due or lease."""
    due = await redis.zscore(keys.followups_due(), record.followup.id)
    leased = await redis.hexists(keys.followups_leased(), record.followup.id)
    where = "leased" if leased else ("not due" if due is None else "due")
    return f"{record.state.value} ({record.reason or '-'}, {record.attempts} attempts, {where})"


async def tally(
    redis: Redis, contact_ids: Sequence[str], markers: Sequence[str] | None = None
) -> Tally:
    """Count lost and duplicated deliveries to ``contact_ids`` (one message each is due;
    see :func:`received` for ``markers``).

    A contact who got nothing is lost, unless its follow-up ended in a state that says
    the outcome is unknown (then it is counted as uncertain).
    """
    counts = await received(redis, contact_ids, markers)
    empty = [contact_id for contact_id, n in zip(contact_ids, counts, strict=True) if n == 0]
    uncertain, lost_as = 0, Counter[str]()
    for contact_id in empty:
        records = await followups.of_contact(redis, contact_id)
        if any(r.state.value in UNKNOWN_OUTCOME for r in records):
            uncertain += 1
        else:
            lost_as.update([await _outcome(redis, r) for r in records])
    return Tally(
        queued=len(contact_ids),
        lost=len(empty) - uncertain,
        duplicated=sum(1 for n in counts if n > 1),
        uncertain=uncertain,
        lost_as=tuple(f"{n} {outcome}" for outcome, n in lost_as.most_common(5)),
    )
