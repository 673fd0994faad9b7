"""Statistics against figures computed by hand (plain Python) from the same generated data."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

import pytest
from membership_support import RULES, place
from support import FIXED_NOW, run_queued

from storage import contacts, daily_counters, membership, satisfaction, tickets
from storage.daily_counters import Metric
from storage.orders import OrderStatus
from storage.statistics import Period, compute, daily_series

pytestmark = pytest.mark.cluster

NOW = FIXED_NOW  # 18:00 in Shanghai
RULES_TZ = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)


@dataclass
class World:
    """What was generated, kept as plain lists for the hand computation."""

    first_seen: dict[str, datetime] = field(default_factory=dict)
    last_seen: dict[str, datetime] = field(default_factory=dict)
    inquiries: dict[str, datetime] = field(default_factory=dict)
    orders: list[tuple[str, str, float, datetime, bool]] = field(default_factory=list)
    """(order id, contact, amount, placed, counted)"""
    tickets: list[tuple[datetime, datetime | None, datetime | None]] = field(default_factory=list)
    """(created, first answer, closed)"""
    ratings: list[tuple[int, datetime]] = field(default_factory=list)
    outcomes: list[tuple[Metric, datetime]] = field(default_factory=list)


def moment(rng: random.Random, back_days: float) -> datetime:
    return NOW - timedelta(seconds=rng.uniform(0, back_days * 86_400))


async def generate(redis, seed: int) -> World:
    rng = random.Random(seed)
    world = World()
    for n in range(60):
        contact_id = f"telegram:{n}"
        first = moment(rng, 400)
        last = first + (NOW - first) * rng.random()
        world.first_seen[contact_id], world.last_seen[contact_id] = first, last
        await contacts.touch(redis, contact_id, first)
        await contacts.touch(redis, contact_id, last)
        if rng.random() < 0.6:
            asked = first + (last - first) * rng.random()
            world.inquiries[contact_id] = asked
            await run_queued(redis, membership.record_first_inquiry, contact_id, asked)
        spans = rng.choice([0, 0, 1, 2, 3, 5])
        placed = sorted(moment(rng, rng.choice([10, 400])) for _ in range(spans))
        for k, at in enumerate(placed):
            counted = rng.random() < 0.85
            amount = float(rng.randint(50, 900))
            status = OrderStatus.PAID if counted else OrderStatus.UNPAID
            await place(redis, contact_id, f"O{n}-{k}", amount, at, status=status)
            world.orders.append((f"O{n}-{k}", contact_id, amount, at, counted))
    for _ in range(40):
        created = moment(rng, 40)
        ticket = await tickets.create(
            redis, contact_id="telegram:1", intent="other", text="?", language="en", now=created
        )
        answered = closed = None
        if rng.random() < 0.7:
            answered = created + timedelta(minutes=rng.randint(1, 600))
            if answered <= NOW:
                await tickets.answer(redis, ticket.id, "a", answered, by="o")
                await tickets.answer(redis, ticket.id, "b", answered + DAY, by="o")
            else:
                answered = None
        if rng.random() < 0.5:
            closed = created + (NOW - created) * rng.random()
            await tickets.close(redis, ticket.id, closed, by="o")
        world.tickets.append((created, answered, closed))
    for n in range(50):
        at, score = moment(rng, 30), rng.randint(1, 5)
        await satisfaction.record(redis, f"telegram:{n}", f"R{n}", score, at)
        world.ratings.append((score, at))
    for _ in range(120):
        metric, at = rng.choice([Metric.AUTO_ANSWERED, Metric.UNANSWERED]), moment(rng, 40)
        await run_queued(redis, daily_counters.bump, metric, at, RULES_TZ)
        world.outcomes.append((metric, at))
    return world


def by_hand(world: World, start: datetime) -> dict[str, object]:
    """Every figure from the definitions in docs/membership.md, over the plain lists."""
    inside = lambda at: at is not None and start <= at <= NOW  # noqa: E731
    counted = [o for o in world.orders if o[4]]
    first_order = {}
    for _, contact, _, at, _ in sorted(counted, key=lambda o: o[3]):
        first_order.setdefault(contact, at)
    period_orders = [o for o in counted if inside(o[3])]
    repeats = [o for o in period_orders if o[3] > first_order[o[1]]]
    member_since = {}
    running: Counter[str] = Counter()
    for _, contact, amount, at, _ in sorted(counted, key=lambda o: o[3]):
        running[contact] += amount
        if running[contact] >= 500:
            member_since.setdefault(contact, at)
    last_order = {}
    for _, contact, _, at, _ in counted:
        last_order[contact] = max(at, last_order.get(contact, at))
    at_start = [c for c, since in member_since.items() if since < start]
    churn_edge = NOW - timedelta(days=RULES.stages.churned_days)
    waits = [(a - c).total_seconds() for c, a, _ in world.tickets if inside(c) and a]
    return {
        "contacts_total": len(world.first_seen),
        "contacts_new": sum(inside(at) for at in world.first_seen.values()),
        "contacts_active": sum(inside(at) for at in world.last_seen.values()),
        "first_inquiries": sum(inside(at) for at in world.inquiries.values()),
        "tickets_opened": sum(inside(c) for c, _, _ in world.tickets),
        "tickets_closed": sum(inside(x) for _, _, x in world.tickets),
        "median_first_response_s": median(waits) if waits else None,
        "questions_auto": sum(m is Metric.AUTO_ANSWERED and inside(at) for m, at in world.outcomes),
        "questions_unanswered": sum(
            m is Metric.UNANSWERED and inside(at) for m, at in world.outcomes
        ),
        "ratings": Counter(score for score, at in world.ratings if inside(at)),
        "orders": len(period_orders),
        "sales": round(sum(o[2] for o in period_orders), 2),
        "buyers": len({o[1] for o in period_orders}),
        "repeat_orders": len(repeats),
        "repeat_buyers": len({o[1] for o in repeats}),
        "members": len(member_since),
        "members_at_start": len(at_start),
        "members_new": len(member_since) - len(at_start),
        "members_active": sum(
            max(world.last_seen[c], last_order.get(c, world.last_seen[c])) >= start
            for c in member_since
        ),
        "members_churned": sum(last_order[c] <= churn_edge for c in at_start),
        "member_sales": round(
            sum(o[2] for o in period_orders if o[1] in member_since and member_since[o[1]] < o[3]),
            2,
        ),
    }


@pytest.mark.parametrize(("seed", "days"), [(1, 7), (2, 30), (3, 90)])
async def test_figures_match_the_hand_computation(redis, seed, days):
    world = await generate(redis, seed)
    period = Period.last_days(days, NOW, RULES_TZ)
    assert period.start == datetime(2026, 11, 24, tzinfo=RULES_TZ) - days * DAY
    report = await compute(redis, period, RULES)
    expected = by_hand(world, period.start)
    for name, value in expected.items():
        assert getattr(report, name) == (
            pytest.approx(value) if isinstance(value, float) else value
        ), name
    assert report.orders > 0 and report.members > 0 and report.tickets_opened > 0
    assert report.member_sales_share == pytest.approx(
        expected["member_sales"] / expected["sales"] if expected["sales"] else None
    )


async def test_tier_counts_and_rates(redis):
    for n, amount in enumerate((100, 600, 2500, 2600)):
        await place(redis, f"console:{n}", f"X{n}", amount, NOW - 40 * DAY)
    await place(redis, "console:1", "X9", 100, NOW - DAY)
    report = await compute(redis, Period.last_days(30, NOW, RULES_TZ), RULES)
    assert report.tiers == {"普通会员": 1, "高级会员": 1, "VIP会员": 2, "尊贵VIP会员": 0}
    assert (report.members, report.members_at_start, report.members_new) == (3, 3, 0)
    assert report.new_member_rate == 0
    assert report.member_sales_share == 1.0, "the only order in the period is a member's"
    assert report.repurchase_rate == 1.0
    assert report.member_activity == pytest.approx(1 / 3)
    assert report.member_churn == 0
    assert report.auto_share is None and report.rating_average is None


async def test_the_daily_series(redis):
    await place(redis, "console:a", "D1", 100, NOW - 3 * DAY)
    await place(redis, "console:a", "D2", 100, NOW - DAY)
    await place(redis, "console:b", "D3", 100, NOW - DAY)
    await tickets.create(
        redis, contact_id="console:a", intent="x", text="?", language="en", now=NOW
    )
    for _ in range(4):
        await run_queued(
            redis, lambda p: daily_counters.bump(p, Metric.MESSAGES, NOW - DAY, RULES_TZ)
        )
    series = await daily_series(redis, Period.last_days(30, NOW, RULES_TZ), RULES_TZ)
    assert len(series.days) == 30 and series.days[-1] == NOW.astimezone(RULES_TZ).date()
    assert series.orders[-4:] == [1, 0, 2, 0]
    assert series.repurchases[-4:] == [0, 0, 1, 0]
    assert series.messages[-2:] == [4, 0]
    assert series.tickets[-1] == 1 and sum(series.tickets) == 1
