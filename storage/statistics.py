"""The shop's figures for ``/stats``: contacts, service, satisfaction, orders, members.

A period of N days is the N calendar days ending today (shop time zone), from
local midnight N-1 days ago up to ``now``. Every figure is a range count or a
range read on an index (no scan of the contacts); docs/membership.md (Statistics) defines each one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import TypedDict
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from config.membership import DAY_S, Membership
from storage import daily_counters, keys, orders, satisfaction
from storage.daily_counters import Metric
from storage.orders import Order
from storage.replies import scored, texts
from storage.timestamps import to_epoch


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end]``: the calendar days of the figures."""

    start: datetime
    end: datetime
    days: int

    @classmethod
    def last_days(cls, days: int, now: datetime, tz: ZoneInfo) -> Period:
        """The ``days`` calendar days ending today in ``tz``, up to ``now``."""
        first = daily_counters.last_days(now, tz, days)[0]
        return cls(datetime.combine(first, time(), tzinfo=tz), now, days)

    @property
    def dates(self) -> list[date]:
        """The calendar days, oldest first."""
        first = self.start.date()
        return [first + timedelta(days=n) for n in range(self.days)]


@dataclass(frozen=True, slots=True)
class Report:
    """Every figure of one period; rates are fractions (None when undefined: 0/0)."""

    period: Period
    contacts_total: int
    contacts_new: int
    contacts_active: int
    first_inquiries: int
    tickets_opened: int
    tickets_closed: int
    median_first_response_s: float | None
    questions_auto: int
    questions_unanswered: int
    ratings: Counter[int]
    orders: int
    sales: float
    buyers: int
    repeat_orders: int
    repeat_buyers: int
    members: int
    members_at_start: int
    members_new: int
    members_active: int
    members_churned: int
    member_sales: float
    stages: dict[str, int] = field(default_factory=dict)
    tiers: dict[str, int] = field(default_factory=dict)

    @property
    def auto_share(self) -> float | None:
        """Questions answered automatically / questions asked."""
        return _ratio(self.questions_auto, self.questions_auto + self.questions_unanswered)

    @property
    def rating_average(self) -> float | None:
        """The mean score of the ratings given in the period."""
        total = self.ratings.total()
        return sum(s * n for s, n in self.ratings.items()) / total if total else None

    @property
    def repurchase_rate(self) -> float | None:
        """Buyers with a repeat order in the period / buyers in the period."""
        return _ratio(self.repeat_buyers, self.buyers)

    @property
    def new_member_rate(self) -> float | None:
        """会员新增率: members gained in the period / members at its start."""
        return _ratio(self.members_new, self.members_at_start)

    @property
    def member_sales_share(self) -> float | None:
        """会员消费占比: sales of orders placed by someone already a member / all sales."""
        return _ratio(self.member_sales, self.sales)

    @property
    def member_activity(self) -> float | None:
        """会员活跃度: members who wrote or ordered in the period / members."""
        return _ratio(self.members_active, self.members)

    @property
    def member_churn(self) -> float | None:
        """会员流失率: members at the start now without an order for ``churned_days`` / them."""
        return _ratio(self.members_churned, self.members_at_start)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


async def compute(
    redis: Redis, period: Period, rules: Membership, stages: dict[str, int] | None = None
) -> Report:
    """The figures of ``period``; ``stages`` (counts per stage) are passed through."""
    start, end = to_epoch(period.start), to_epoch(period.end)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.contacts_by_first_seen())
        pipe.zcount(keys.contacts_by_first_seen(), start, end)
        pipe.zcount(keys.contacts_by_last_seen(), start, end)
        pipe.zcount(keys.contacts_by_first_inquiry(), start, end)
        pipe.zrangebyscore(keys.tickets_all(), start, end)
        pipe.zcount(keys.tickets_by_close_time(), start, end)
        pipe.zrangebyscore(keys.orders_by_time(), start, end)
        pipe.zrange(keys.members_since(), 0, -1, withscores=True)
        total, new, active, inquiries, opened, closed, order_ids, members = await pipe.execute()
    counters = await daily_counters.series(redis, period.dates)
    period_orders = await orders.get_many(redis, order_ids)
    ratings = await satisfaction.between(redis, period.start, period.end)
    member_since = dict(members)
    buying = await _buying(redis, period_orders, member_since)
    tiers = {tier.id: int(await redis.scard(keys.tier_members(tier.id))) for tier in rules.tiers}
    activity = await _member_activity(redis, member_since, start, end, rules)
    return Report(
        period=period,
        contacts_total=int(total),
        contacts_new=int(new),
        contacts_active=int(active),
        first_inquiries=int(inquiries),
        tickets_opened=len(opened),
        tickets_closed=int(closed),
        median_first_response_s=await _median_first_response(redis, opened),
        questions_auto=sum(counters[Metric.AUTO_ANSWERED]),
        questions_unanswered=sum(counters[Metric.UNANSWERED]),
        ratings=Counter(rating.score for rating in ratings),
        orders=len(period_orders),
        sales=round(sum(order.amount for order in period_orders), 2),
        buyers=len({order.contact_id for order in period_orders}),
        members=len(member_since),
        **buying,
        **activity,
        stages=dict(stages or {}),
        tiers=tiers,
    )


async def _median_first_response(redis: Redis, ticket_ids: list[str]) -> float | None:
    """Median of first answer minus creation, over the period's answered tickets."""
    async with redis.pipeline(transaction=False) as pipe:
        for ticket_id in ticket_ids:
            pipe.hmget(keys.ticket(ticket_id), ["created_at", "first_answered_at", "answered_at"])
        rows = await pipe.execute()
    waits = [
        float(first or answered) - float(created)
        for created, first, answered in rows
        if created and (first or answered)
    ]
    return median(waits) if waits else None


class _Buying(TypedDict):
    """The :class:`Report` fields :func:`_buying` fills."""

    repeat_orders: int
    repeat_buyers: int
    member_sales: float


async def _buying(
    redis: Redis, period_orders: list[Order], member_since: dict[str, float]
) -> _Buying:
    """Repeat orders and buyers, and members' sales."""
    repeats = await _repeat_orders(redis, period_orders)
    member_sales = sum(
        order.amount
        for order in period_orders
        if order.contact_id in member_since
        and member_since[order.contact_id] < to_epoch(order.placed_at)
    )
    return {
        "repeat_orders": len(repeats),
        "repeat_buyers": len({order.contact_id for order in repeats}),
        "member_sales": round(member_sales, 2),
    }


async def _repeat_orders(redis: Redis, period_orders: list[Order]) -> list[Order]:
    """The orders placed after their contact's first counted order."""
    contact_ids = sorted({order.contact_id for order in period_orders})
    firsts = await redis.zmscore(keys.contacts_by_first_order(), contact_ids) if contact_ids else []
    first_of = dict(zip(contact_ids, firsts, strict=True))
    return [
        order
        for order in period_orders
        if (first := first_of.get(order.contact_id)) is not None
        and to_epoch(order.placed_at) > float(first)
    ]


async def _member_activity(
    redis: Redis, member_since: dict[str, float], start: float, end: float, rules: Membership
) -> dict[str, int]:
    """Members gained, at the start, active in the period, and churned since the start."""
    ids = list(member_since)
    if not ids:
        return {"members_at_start": 0, "members_new": 0, "members_active": 0, "members_churned": 0}
    seen = await redis.zmscore(keys.contacts_by_last_seen(), ids)
    ordered = await redis.zmscore(keys.contacts_by_last_order(), ids)
    churn_edge = end - rules.stages.churned_days * DAY_S
    at_start = [i for i, c in enumerate(ids) if member_since[c] < start]
    active = [
        i for i in range(len(ids)) if max(float(seen[i] or 0), float(ordered[i] or 0)) >= start
    ]
    churned = [i for i in at_start if (last := ordered[i]) is None or float(last) <= churn_edge]
    return {
        "members_at_start": len(at_start),
        "members_new": len(ids) - len(at_start),
        "members_active": len(active),
        "members_churned": len(churned),
    }


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Per calendar day of the chart: messages, tickets opened, orders, repeat orders."""

    days: list[date]
    messages: list[int]
    tickets: list[int]
    orders: list[int]
    repurchases: list[int]


async def daily_series(redis: Redis, period: Period, tz: ZoneInfo) -> DailySeries:
    """The chart's four series over ``period``'s days."""
    start, end = to_epoch(period.start), to_epoch(period.end)
    counters = await daily_counters.series(redis, period.dates)
    ticket_times = scored(
        await redis.zrangebyscore(keys.tickets_all(), start, end, withscores=True)
    )
    order_ids = texts(await redis.zrangebyscore(keys.orders_by_time(), start, end))
    period_orders = await orders.get_many(redis, order_ids)
    repeats = await _repeat_orders(redis, period_orders)
    index = {day: n for n, day in enumerate(period.dates)}

    def per_day(moments: list[float]) -> list[int]:
        counts = [0] * period.days
        for moment in moments:
            day = datetime.fromtimestamp(moment, tz).date()
            if day in index:
                counts[index[day]] += 1
        return counts

    placed = [to_epoch(order.placed_at) for order in period_orders]
    repeat = [to_epoch(order.placed_at) for order in repeats]
    return DailySeries(
        days=period.dates,
        messages=counters[Metric.MESSAGES],
        tickets=per_day([score for _, score in ticket_times]),
        orders=per_day(placed),
        repurchases=per_day(repeat),
    )
