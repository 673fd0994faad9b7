"""Benchmark: segment queries with the real evaluator against a scan of every contact.

Generates N contacts (1,000,000; ``--quick``: 100,000) with tags, languages,
channels, first/last seen times and paid orders, bulk-loaded (pipelined) into the
same Redis keys the product writes (profile hash, tag hash and tag sets, order
ledger, and the segment indexes), on a throwaway embedded valkey-server. Then for
three typical segments: the evaluator of ``storage.segments`` (what ``/find`` and
campaign audiences use) against a Python scan that reads every contact's profile,
tags and order ledger and tests the segment; both in this run, results compared.

Run from the project root: ``python bench/segments.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis

from storage import keys, segments
from storage.redis import EmbeddedRedis
from storage.segment_parser import RangeAtom, RangeField, Segment, SetAtom, SetField, parse
from storage.timestamps import to_epoch

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DAY = 86_400
CHUNK = 2000
QUERIES = (
    "orders>=2 lastorder>30d",
    "tag:VIP,老客户 -tag:黑名单 spend>=500",
    "channel:wechat lang:zh lastseen<7d",
)
TAGS = {"VIP": 0.08, "老客户": 0.2, "黑名单": 0.02, "团购": 0.05, "价格敏感": 0.1}
CHANNELS = (("wechat", 0.6), ("telegram", 0.3), ("console", 0.1))
ORDER_COUNTS = ((0, 0.4), (1, 0.25), (2, 0.15), (3, 0.1), (5, 0.07), (10, 0.03))
AMOUNTS = (39.0, 59.0, 128.0, 268.0, 520.0)


@dataclass(frozen=True, slots=True)
class Person:
    """One generated contact and their orders."""

    id: str
    language: str
    first_seen: float
    last_seen: float
    tags: tuple[str, ...]
    orders: tuple[tuple[float, float], ...]
    """(amount, epoch) per paid order."""


def people(count: int, seed: int = 8) -> Iterator[Person]:
    """A reproducible crowd: channels, languages, tags and order histories in shop-like shares."""
    rng = random.Random(seed)
    now = to_epoch(NOW)
    channels, channel_weights = zip(*CHANNELS, strict=True)
    order_counts, order_weights = zip(*ORDER_COUNTS, strict=True)
    for n in range(count):
        channel = rng.choices(channels, channel_weights)[0]
        first = now - rng.uniform(0, 730) * DAY
        last = rng.uniform(first, now)
        orders = tuple(
            (rng.choice(AMOUNTS), rng.uniform(first, now))
            for _ in range(rng.choices(order_counts, order_weights)[0])
        )
        yield Person(
            id=f"{channel}:u{n:07d}",
            language="zh-CN" if rng.random() < 0.8 else "en",
            first_seen=first,
            last_seen=last,
            tags=tuple(tag for tag, share in TAGS.items() if rng.random() < share),
            orders=orders,
        )


async def load(redis: Redis, crowd: Iterator[Person]) -> int:
    """Write the crowd as the product would have (contacts, tags, orders); returns how many."""
    loaded = 0
    batch: list[Person] = []
    for person in crowd:
        batch.append(person)
        if len(batch) == CHUNK:
            await _load_batch(redis, batch)
            loaded += len(batch)
            batch = []
    if batch:
        await _load_batch(redis, batch)
        loaded += len(batch)
    return loaded


async def _load_batch(redis: Redis, batch: list[Person]) -> None:
    indexes: dict[str, dict[str, float]] = {
        keys.contacts_by_last_seen(): {},
        keys.contacts_by_first_seen(): {},
        keys.contacts_by_spend(): {},
        keys.contacts_by_order_count(): {},
        keys.contacts_by_first_order(): {},
        keys.contacts_by_last_order(): {},
    }
    sets: dict[str, list[str]] = {}
    async with redis.pipeline(transaction=False) as pipe:
        for person in batch:
            pipe.hset(
                keys.contact(person.id),
                mapping={
                    "first_seen": person.first_seen,
                    "last_seen": person.last_seen,
                    "message_count": 3,
                    "language": person.language,
                    "short_id": f"C{person.id[-7:].lstrip('0') or '0'}",
                },
            )
            indexes[keys.contacts_by_last_seen()][person.id] = person.last_seen
            indexes[keys.contacts_by_first_seen()][person.id] = person.first_seen
            sets.setdefault(keys.contacts_by_channel(person.id.partition(":")[0]), []).append(
                person.id
            )
            sets.setdefault(keys.contacts_by_language(person.language), []).append(person.id)
            if person.tags:
                meta = json.dumps({"source": "owner", "at": person.first_seen})
                pipe.hset(keys.contact_tags(person.id), mapping=dict.fromkeys(person.tags, meta))
                for tag in person.tags:
                    sets.setdefault(keys.tag_members(tag), []).append(person.id)
            if person.orders:
                ledger = {
                    f"{person.id}-{n}": json.dumps({"amount": amount, "at": at})
                    for n, (amount, at) in enumerate(person.orders)
                }
                pipe.hset(keys.contact_order_ledger(person.id), mapping=ledger)
                times = [at for _, at in person.orders]
                indexes[keys.contacts_by_spend()][person.id] = round(
                    sum(a for a, _ in person.orders), 2
                )
                indexes[keys.contacts_by_order_count()][person.id] = len(person.orders)
                indexes[keys.contacts_by_first_order()][person.id] = min(times)
                indexes[keys.contacts_by_last_order()][person.id] = max(times)
        for key, members in indexes.items():
            if members:
                pipe.zadd(key, members)
        for key, members in sets.items():
            pipe.sadd(key, *members)
        pipe.sadd(keys.all_tags(), *TAGS)
        await pipe.execute()


async def evaluate(redis: Redis, expression: str) -> tuple[float, set[str]]:
    """The product's evaluator: seconds to count the matches, then (untimed) the matches."""
    segment = parse(expression)
    started = time.perf_counter()
    match = await segments.find(redis, segment, NOW, limit=10)
    elapsed = time.perf_counter() - started
    dest = keys.segment_scratch("bench", 0)
    count = await segments.store(redis, segment, NOW, dest, 600)
    members = set(await redis.zrange(dest, 0, -1))
    await redis.delete(dest)
    assert count == match.count == len(members)
    return elapsed, members


async def scan(redis: Redis, expression: str) -> tuple[float, set[str]]:
    """The baseline: read every contact's profile, tags and ledger, test the segment in Python."""
    segment = parse(expression)
    now = to_epoch(NOW)
    started = time.perf_counter()
    matched: set[str] = set()
    cursor = 0
    while True:
        cursor, page = await redis.zscan(keys.contacts_by_last_seen(), cursor, count=CHUNK)
        ids = [contact_id for contact_id, _ in page]
        async with redis.pipeline(transaction=False) as pipe:
            for contact_id in ids:
                pipe.hgetall(keys.contact(contact_id))
                pipe.hkeys(keys.contact_tags(contact_id))
                pipe.hvals(keys.contact_order_ledger(contact_id))
            rows = await pipe.execute()
        for index, contact_id in enumerate(ids):
            profile, tags, ledger = rows[3 * index : 3 * index + 3]
            if _matches(segment, contact_id, profile, set(tags), ledger, now):
                matched.add(contact_id)
        if cursor == 0:
            break
    return time.perf_counter() - started, matched


def _matches(
    segment: Segment,
    contact_id: str,
    profile: dict[str, str],
    tags: set[str],
    ledger: list[str],
    now: float,
) -> bool:
    orders = [json.loads(entry) for entry in ledger]
    times = [float(order["at"]) for order in orders]
    values = {
        RangeField.SPEND: sum(float(order["amount"]) for order in orders),
        RangeField.ORDERS: len(orders),
        RangeField.FIRST_ORDER: min(times) if times else None,
        RangeField.LAST_ORDER: max(times) if times else None,
        RangeField.FIRST_SEEN: float(profile["first_seen"]),
        RangeField.LAST_SEEN: float(profile["last_seen"]),
    }
    sets = {
        SetField.TAG: tags,
        SetField.CHANNEL: {contact_id.partition(":")[0]},
        SetField.LANG: {profile.get("language")},
        SetField.OPTOUT: set(),
    }

    def holds(atom: SetAtom | RangeAtom) -> bool:
        if isinstance(atom, SetAtom):
            return bool(sets[atom.field] & set(atom.values))
        value = values[atom.field]
        if value is None:
            return False
        return atom.accepts(now - value if atom.field.is_age else value)

    return all(holds(term.atom) != term.negated for term in segment.terms)


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def main(count: int) -> None:
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="shopbot-bench-")), persistent=False)
    # One query on a million contacts can take seconds: no 5 s read timeout here.
    redis = Redis.from_url(server.start(), decode_responses=True, socket_timeout=600)
    try:
        await redis.flushall()
        before = await used_memory(redis)
        started = time.perf_counter()
        loaded = await load(redis, people(count))
        load_s = time.perf_counter() - started
        per_contact = (await used_memory(redis) - before) / loaded
        print(f"{loaded:,} contacts loaded in {load_s:.1f} s ({per_contact:.0f} bytes each)")
        print(
            f"{'segment':42}{'matches':>10}{'evaluator ms':>14}{'scan ms':>12}{'ratio':>9}  equal"
        )
        ratios = []
        for expression in QUERIES:
            fast_s, fast = await evaluate(redis, expression)
            slow_s, slow = await scan(redis, expression)
            ratios.append(slow_s / fast_s)
            print(
                f"{expression:42}{len(fast):>10,}{fast_s * 1000:>14.1f}{slow_s * 1000:>12.0f}"
                f"{ratios[-1]:>9.0f}  {fast == slow}"
            )
            if fast != slow:
                raise SystemExit(f"results differ for {expression!r}")
    finally:
        await redis.aclose()
        server.stop()
    print("results equal: True")
    print(f"segment_ratio: {min(ratios):.0f}")
    print(f"bytes_per_contact: {per_contact:.0f}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 contacts")
    parser.add_argument("--contacts", type=int, help="how many contacts (overrides --quick)")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    asyncio.run(main(args.contacts or (100_000 if args.quick else 1_000_000)))
