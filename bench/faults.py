"""Faults at scale: 10,000 follow-ups through a real bot killed every few seconds.

The fault tests' scenarios (``tests/bot/test_faults.py``), larger. A real
``python -m bot run`` on its real embedded server (``appendfsync always``) sends
10,000 follow-ups (``--quick``: 1,000), one per terminal customer, falling due over
40 s (``--quick``: 15 s). Every ``--every`` seconds one fault, in turn: ``kill -9`` of
the bot, ``SIGTERM`` of the bot, ``kill -9`` of the embedded server (then 10 orders
through the API, each repeated until acknowledged). A stopped bot is started again
at once; a killed server is started again by the bot.

Baseline, in the same run: the same workload with no fault. Figures: lost and
duplicated deliveries (each must be 0), sends whose outcome is unknown, acknowledged
orders lost, the slowest return to a healthy ``/healthz`` after a fault, and how much
longer the faulted run took to deliver everything than the baseline.

Run from the project root: ``python bench/faults.py [--quick] [--every S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fault_support import Shop, Tally, spread, tally, wait_finished  # noqa: E402

from storage import followups, orders  # noqa: E402

FAULTS = ("bot SIGKILL", "bot SIGTERM", "server SIGKILL")
ORDERS_PER_OUTAGE = 10
FINISH_S = 600.0


@dataclass
class Run:
    """What one run measured."""

    tally: Tally
    drain_s: float
    faults: int = 0
    recovery_s: float = 0.0
    orders_lost: int = 0


async def run(count: int, spread_s: float, every_s: float | None, folder: Path) -> Run:
    """Deliver ``count`` follow-ups; a fault every ``every_s`` seconds (None: no fault)."""
    shop = Shop(folder / "data")
    await shop.start_bot()
    items = spread(count, spread_s, "b")
    redis = shop.client()
    try:
        await followups.schedule_many(redis, items)
        started = time.monotonic()
        stop = asyncio.Event()
        faults = asyncio.create_task(_faults(shop, every_s, stop)) if every_s else None
        await asyncio.sleep(spread_s)  # every item is due by now
        stop.set()
        measured = await faults if faults is not None else _Faults()
        await wait_finished(redis, FINISH_S, due_by=items[-1].due_at)
        result = Run(await tally(redis, [item.contact_id for item in items]), 0.0)
        result.drain_s = time.monotonic() - started
        result.faults, result.recovery_s = measured.count, measured.slowest_s
        result.orders_lost = await _orders_lost(redis, measured.acknowledged)
        return result
    finally:
        await redis.aclose()
        await shop.close()


@dataclass
class _Faults:
    count: int = 0
    slowest_s: float = 0.0
    acknowledged: list[str] = field(default_factory=list)


async def _faults(shop: Shop, every_s: float, stop: asyncio.Event) -> _Faults:
    """Inflict faults in turn until ``stop`` is set (each one carried to its end)."""
    done = _Faults()
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every_s):
                await stop.wait()
        if stop.is_set():
            return done
        kind = FAULTS[done.count % len(FAULTS)]
        began = time.monotonic()
        if kind == "server SIGKILL":
            shop.kill_server()
            for n in range(ORDERS_PER_OUTAGE):
                order_id = f"F{done.count}-{n}"
                await shop.order_until_acknowledged(order_id, f"console:buyer{order_id}")
                done.acknowledged.append(order_id)
            await shop.wait_healthy(60)
        else:
            shop.signal_bot(signal.SIGKILL if kind == "bot SIGKILL" else signal.SIGTERM)
            await shop.bot_exit()
            await shop.start_bot()
        done.count += 1
        done.slowest_s = max(done.slowest_s, time.monotonic() - began)


async def _orders_lost(redis, order_ids: list[str]) -> int:
    return sum([await orders.get(redis, order_id) is None for order_id in order_ids])


async def main(count: int, spread_s: float, every_s: float) -> None:
    with tempfile.TemporaryDirectory(prefix="shopbot-faults-") as tmp:
        baseline = await run(count, spread_s, None, Path(tmp) / "baseline")
        faulted = await run(count, spread_s, every_s, Path(tmp) / "faulted")
    print(f"{count} follow-ups due over {spread_s:.0f} s; a fault every {every_s:.0f} s")
    print(f"baseline: delivered in {baseline.drain_s:.1f} s, {baseline.tally}")
    print(f"faulted: {faulted.faults} faults, delivered in {faulted.drain_s:.1f} s")
    print(f"lost: {faulted.tally.lost + baseline.tally.lost}")
    print(f"duplicated: {faulted.tally.duplicated + baseline.tally.duplicated}")
    print(f"uncertain: {faulted.tally.uncertain + baseline.tally.uncertain}")
    print(f"orders_lost: {faulted.orders_lost}")
    print(f"recovery_s: {faulted.recovery_s:.2f}")
    print(f"fault_drain_ratio: {faulted.drain_s / baseline.drain_s:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 follow-ups, not 10,000")
    parser.add_argument("--every", type=float, default=3.0, help="seconds between faults")
    args = parser.parse_args()
    quick = args.quick
    asyncio.run(main(1_000 if quick else 10_000, 15.0 if quick else 40.0, args.every))
