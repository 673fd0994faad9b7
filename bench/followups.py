"""Benchmark: the follow-up engine against APScheduler 3 with a RedisJobStore, on one Redis.

Schedules N follow-ups (100,000; ``--quick``: 10,000), a realistic mix of five per
contact (review thanks, revisit, a repurchase reminder, win-back at 60 and 90 days),
then dispatches them all through full dispatch passes to an outlet that only counts.
Then the naive way on the same server: one APScheduler ``date`` job per follow-up in a
``RedisJobStore``, fired when due by an ``AsyncIOScheduler``.

Per item, both sides read the contact's profile (stored before the clock starts) and
render the template in the contact's language, then count. The engine also does its
bookkeeping: lease and claim token, opt-out and quiet-hours rules, the weekly cap, the
outcome record, the per-contact index. The naive job does none of that
(it would need it to be correct, but it is not counted against it). The engine runs three
times and the naive side twice, taking turns; the figures are each side's medians
(``docs/followups.md``).

Run from the project root: ``python bench/followups.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis

from bot.heap import freeze_startup_heap
from bot.messages import OutboundMessage, SendCheck
from config.catalog import default_catalog
from config.followup_rules import rules_from
from config.settings import Settings
from schedules.dispatch import SEND_CONCURRENCY, DispatchPolicy, FollowupDispatcher
from schedules.lifecycle import OrderFacts, care_followup
from schedules.quiet_hours import QuietHours
from schedules.repurchase import reminder, winback
from schedules.sending_rules import SendingRules
from storage import contacts, keys
from storage.followups import Followup, schedule_many
from storage.orders import OrderItem
from storage.redis import EmbeddedRedis, create_client

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: no quiet hours
PER_CONTACT = 5
SKUS = ("tea-250g", "coffee-1kg", "mask-10", "shampoo-500ml")


class CountingOutlet:
    """A channel that only counts (and allows everything)."""

    ALLOWED = SendCheck(True)

    def __init__(self) -> None:
        self.sent = 0

    async def check(self, message: OutboundMessage) -> SendCheck:
        return self.ALLOWED

    async def send(self, message: OutboundMessage) -> None:
        self.sent += 1


def followups_for(count: int) -> list[Followup]:
    """``count`` follow-ups, five per contact, all due by NOW."""
    rules, catalog = rules_from(None), default_catalog()
    review, revisit = rules.rule("review_thanks"), rules.rule("revisit")
    assert review is not None and revisit is not None
    items: list[Followup] = []
    for n in range(count // PER_CONTACT):
        contact = f"telegram:{7_000_000_000 + n}"
        sku = SKUS[n % len(SKUS)]
        order = OrderFacts(
            str(100_000 + n),
            contact,
            "delivered",
            NOW - timedelta(days=7),
            (OrderItem(sku, sku, 1 + n % 2, 59.0),),
            59.0 * (1 + n % 2),
        )
        items += [
            care_followup(order, review, catalog),
            care_followup(order, revisit, catalog),
            reminder(contact, sku, order.order_id, NOW),
            winback(contact, order.order_id, 60, NOW - timedelta(days=60)),
            winback(contact, order.order_id, 90, NOW - timedelta(days=90)),
        ]
    return items


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def store_contacts(redis: Redis, items: list[Followup]) -> None:
    """A profile per contact, as the product has when it schedules (not timed, not counted)."""
    async with redis.pipeline(transaction=False) as pipe:
        for contact_id in sorted({item.contact_id for item in items}):
            fields = {"display_name": f"Guest {contact_id[-4:]}", "language": "zh-CN"}
            fields |= {"first_seen": "1763000000", "last_seen": "1763000000"}
            pipe.hset(keys.contact(contact_id), mapping=fields)
        await pipe.execute()


async def bench_engine(redis: Redis, count: int) -> dict[str, float]:
    figures = await schedule_engine(redis, count)
    outlet = CountingOutlet()
    rules = SendingRules(Settings().tz, QuietHours.parse("21:00-09:00"), weekly_cap=10)
    policy = DispatchPolicy(rules, batch=500)
    dispatcher = FollowupDispatcher(redis, outlet, policy)
    freeze_startup_heap()  # As ``python -m bot run`` does once started (both sides).
    started = time.perf_counter()
    report = await dispatcher.run_due(NOW)
    dispatched_s = time.perf_counter() - started
    assert outlet.sent == report.sent == count, (outlet.sent, report)
    return figures | {"count": count, "dispatches_per_s": outlet.sent / dispatched_s}


async def schedule_engine(redis: Redis, count: int) -> dict[str, float]:
    """Schedules the follow-ups; the items are dropped before the dispatch is timed (on both
    sides: a dispatcher does not hold the scheduler's objects, and a large heap of them would
    make the garbage collector's full passes, not the dispatch, the figure)."""
    items = followups_for(count)
    await store_contacts(redis, items)
    before = await used_memory(redis)
    started = time.perf_counter()
    await schedule_many(redis, items)  # in slices of storage.followups.SCHEDULE_SLICE
    scheduled_s = time.perf_counter() - started
    return {
        "schedules_per_s": len(items) / scheduled_s,
        "bytes": (await used_memory(redis) - before) / len(items),
        "sampled_bytes": await sampled_bytes(redis, items),
    }


async def sampled_bytes(redis: Redis, items: list[Followup]) -> float:
    """MEMORY USAGE: the due index, record buckets and contact index buckets, per item."""
    total = await redis.memory_usage(keys.followups_due(), samples=0)
    for pattern in ("r:*", "s:*", "c:*"):
        async for key in redis.scan_iter(f"shopbot:{{fu}}:{pattern}", count=1000):
            total += await redis.memory_usage(key, samples=0)
    return total / len(items)


class NaiveCounter:
    """What the naive jobs use (a job must name a module-level callable to be pickled)."""

    fired = 0
    failed = 0
    target = 0
    done: asyncio.Event | None = None
    redis: Redis | None = None
    slots: asyncio.Semaphore | None = None
    texts = rules_from(None).templates


async def naive_fire(contact_id: str, template: str) -> None:
    """The naive job: read the contact, render the text in its language, count."""
    assert NaiveCounter.redis is not None and NaiveCounter.slots is not None
    try:
        async with NaiveCounter.slots:  # As many at once as the engine's sending workers.
            contact = await contacts.get(NaiveCounter.redis, contact_id)
        language = (contact and contact.language) or "zh-CN"
        name = (contact and contact.display_name) or ""
        NaiveCounter.texts.text(template, language).format_map(defaultdict(str, name=name))
    except Exception:
        NaiveCounter.failed += 1
        raise
    finally:
        NaiveCounter.fired += 1
        if NaiveCounter.fired == NaiveCounter.target and NaiveCounter.done is not None:
            NaiveCounter.done.set()


async def bench_naive(redis: Redis, socket_path: str, count: int) -> dict[str, float]:
    NaiveCounter.fired = NaiveCounter.failed = 0
    NaiveCounter.target, NaiveCounter.done = count, asyncio.Event()
    NaiveCounter.redis, NaiveCounter.slots = redis, asyncio.Semaphore(SEND_CONCURRENCY)
    store = RedisJobStore(
        unix_socket_path=socket_path,
        jobs_key="shopbot:naive:jobs",
        run_times_key="shopbot:naive:run_times",
    )
    scheduler = AsyncIOScheduler(
        timezone=UTC, jobstores={"default": store}, job_defaults={"misfire_grace_time": None}
    )
    scheduler.start(paused=True)
    figures = await schedule_naive(redis, scheduler, count)
    freeze_startup_heap()
    started = time.perf_counter()
    scheduler.resume()
    await NaiveCounter.done.wait()
    dispatched_s = time.perf_counter() - started
    scheduler.shutdown(wait=False)
    assert NaiveCounter.failed == 0, f"{NaiveCounter.failed} naive jobs failed"
    return figures | {"count": count, "dispatches_per_s": count / dispatched_s}


async def schedule_naive(redis: Redis, scheduler: AsyncIOScheduler, count: int) -> dict[str, float]:
    """One ``date`` job per follow-up, all due now (the items are dropped after, as above)."""
    items = followups_for(count)
    await store_contacts(redis, items)
    due = datetime.now(UTC)
    before = await used_memory(redis)
    started = time.perf_counter()
    for item in items:
        args = (item.contact_id, item.template)
        scheduler.add_job(naive_fire, "date", run_date=due, id=item.id, args=args)
    scheduled_s = time.perf_counter() - started
    return {
        "schedules_per_s": count / scheduled_s,
        "bytes": (await used_memory(redis) - before) / count,
    }


async def main(count: int) -> None:
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="shopbot-bench-")), persistent=False)
    url = server.start()
    redis = create_client(url)
    runs: dict[str, list[dict[str, float]]] = {"engine": [], "naive": []}
    try:
        for side in TURNS:
            await redis.flushall()
            if side == "naive":
                runs[side].append(await bench_naive(redis, str(server.socket_path), count))
            else:
                runs[side].append(await bench_engine(redis, count))
    finally:
        await redis.aclose()
        server.stop()
    report(median_run(runs["engine"]), median_run(runs["naive"]), runs)


TURNS = ("engine", "naive", "engine", "naive", "engine")
"""This machine's speed drifts over tens of seconds, and the engine's run lasts seconds where
the naive one lasts a minute or more: three engine runs and two naive ones, taking turns, and
the median of each figure per side (every run is printed)."""


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs (the memory figure too: they schedule the same)."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def report(
    engine: dict[str, float], naive: dict[str, float], runs: dict[str, list[dict[str, float]]]
) -> None:
    print(f"{int(engine['count'])} follow-ups, each way, on one valkey-server")
    for side, side_runs in runs.items():
        for n, run in enumerate(side_runs, 1):
            rates = f"{run['schedules_per_s']:,.0f} schedules/s, {run['dispatches_per_s']:,.0f}"
            print(f"{side} run {n}: {rates} dispatches/s, {run['bytes']:,.0f} bytes per item")
    print("per item, both: read the contact, render the text, count at the outlet")
    print("engine also: claim+lease, opt-out/quiet/cap rules, outcome record")
    print(f"{'(medians)':24}{'engine':>16}{'APScheduler':>14}{'ratio':>10}")
    for name in ("schedules_per_s", "dispatches_per_s", "bytes"):
        ratio = engine[name] / naive[name]
        print(f"{name:24}{engine[name]:>16,.0f}{naive[name]:>14,.0f}{ratio:>10.2f}")
    print(f"engine bytes by MEMORY USAGE sampling: {engine['sampled_bytes']:.0f}")
    print(f"engine_schedules_per_s: {engine['schedules_per_s']:.0f}")
    print(f"engine_dispatches_per_s: {engine['dispatches_per_s']:.0f}")
    print(f"naive_schedules_per_s: {naive['schedules_per_s']:.0f}")
    print(f"naive_dispatches_per_s: {naive['dispatches_per_s']:.0f}")
    print(f"naive_bytes_per_job: {naive['bytes']:.0f}")
    print(f"schedule_ratio: {engine['schedules_per_s'] / naive['schedules_per_s']:.1f}")
    print(f"dispatch_ratio: {engine['dispatches_per_s'] / naive['dispatches_per_s']:.1f}")
    print(f"bytes_per_followup: {engine['bytes']:.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 follow-ups, not 100,000")
    args = parser.parse_args()
    asyncio.run(main(10_000 if args.quick else 100_000))
