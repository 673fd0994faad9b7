"""Segments evaluated in Redis agree with a brute-force evaluation over every contact."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from support import FIXED_NOW

from storage import contacts, keys, optouts, orders, segments
from storage.optouts import OptOutCategory
from storage.orders import OrderChange, OrderItem, OrderStatus
from storage.segment_parser import RangeAtom, RangeField, SegmentError, SetAtom, SetField, parse
from storage.timestamps import to_epoch

pytestmark = pytest.mark.cluster

TAGS = ("VIP", "黑名单", "新客", "big spender", "wholesale")
CHANNELS = ("telegram", "wechat", "console")
LANGS = ("zh-CN", "en")


@dataclass
class Facts:
    contact_id: str
    channel: str
    language: str | None
    tags: set[str]
    optouts: set[str]
    spend: float
    orders: int
    first_order: float | None
    last_order: float | None
    first_seen: float
    last_seen: float


async def _populate(redis, rng: random.Random, count: int) -> None:
    for n in range(count):
        contact_id = f"{rng.choice(CHANNELS)}:u{n}"
        first = FIXED_NOW - timedelta(days=rng.uniform(0, 400))
        last = min(FIXED_NOW, first + timedelta(days=rng.uniform(0, 200)))
        await contacts.touch(redis, contact_id, first)
        await contacts.touch(redis, contact_id, last, language=rng.choice((*LANGS, None)))
        await contacts.add_tags(
            redis, contact_id, rng.sample(TAGS, rng.randint(0, 3)), contacts.TagSource.OWNER, last
        )
        if rng.random() < 0.2:
            await optouts.opt_out(redis, contact_id, last, [rng.choice(list(OptOutCategory))])
        for k in range(rng.choice((0, 0, 1, 2, 3, 5))):
            status = rng.choice(list(OrderStatus))
            placed = FIXED_NOW - timedelta(days=rng.uniform(0, 300))
            item = OrderItem("tea-250g", "Tea", rng.randint(1, 4), rng.choice((59.0, 109.0, 299.0)))
            change = OrderChange(f"{contact_id}-{k}", contact_id, status, (item,), placed_at=placed)
            await orders.apply(redis, change, placed)


async def _facts(redis) -> list[Facts]:
    ids = await redis.zrange(keys.contacts_by_last_seen(), 0, -1)
    facts = []
    for contact_id in ids:
        contact = await contacts.get(redis, contact_id)
        summary = await orders.purchase_summary(redis, contact_id)
        facts.append(
            Facts(
                contact_id=contact_id,
                channel=contact.channel,
                language=contact.language,
                tags=set(await contacts.tags_of(redis, contact_id)),
                optouts={o.category.value for o in await optouts.opt_outs_of(redis, contact_id)},
                spend=summary.spend,
                orders=summary.orders,
                first_order=summary.first and to_epoch(summary.first),
                last_order=summary.last and to_epoch(summary.last),
                first_seen=to_epoch(contact.first_seen),
                last_seen=to_epoch(contact.last_seen),
            )
        )
    return facts


def _compare(left: float, op: str, right: float) -> bool:
    return {
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
        "=": left == right,
    }[op]


def _atom_holds(atom, f: Facts, now: datetime) -> bool:
    match atom:
        case SetAtom(field=SetField.TAG, values=values):
            return bool(f.tags & set(values))
        case SetAtom(field=SetField.CHANNEL, values=values):
            return f.channel in values
        case SetAtom(field=SetField.LANG, values=values):
            return f.language in values
        case SetAtom(field=SetField.OPTOUT, values=values):
            return bool(f.optouts & set(values))
        case RangeAtom(field=RangeField.SPEND, op=op, value=value):
            return _compare(f.spend, op, value)
        case RangeAtom(field=RangeField.ORDERS, op=op, value=value):
            return _compare(f.orders, op, value)
        case RangeAtom(field=field, op=op, value=value):
            moment = {
                RangeField.LAST_ORDER: f.last_order,
                RangeField.FIRST_ORDER: f.first_order,
                RangeField.LAST_SEEN: f.last_seen,
                RangeField.FIRST_SEEN: f.first_seen,
            }[field]
            return moment is not None and _compare(to_epoch(now) - moment, op, value)
    raise AssertionError(atom)


def _brute_force(expression: str, facts: list[Facts], now: datetime) -> set[str]:
    segment = parse(expression)
    return {
        f.contact_id
        for f in facts
        if all(_atom_holds(t.atom, f, now) != t.negated for t in segment.terms)
    }


FIXED_EXPRESSIONS = [
    "",
    "tag:VIP",
    "VIP",
    "-tag:黑名单",
    "tag:VIP -tag:黑名单 channel:wechat spend>=500 lastorder>30d",
    'tag:"big spender" orders>=2',
    "tag:VIP,wholesale -channel:console",
    "spend<100",
    "spend=0",
    "-spend>0",
    "orders<=1 lang:en",
    "lang:zh",
    "-lang:en,zh-CN",
    "optout:marketing",
    "-optout:marketing,repurchase tag:新客",
    "lastorder<60d",
    "-lastorder<60d",
    "firstorder>=100d orders>=2",
    "lastseen<30d",
    "firstseen>30w",
    "标签:VIP 渠道:telegram 消费>=100",
    "lastseen>48h -firstseen>200天",
]


def _random_expression(rng: random.Random) -> str:
    atoms = [
        lambda: f"tag:{rng.choice(TAGS[:3])}",
        lambda: f"channel:{','.join(rng.sample(CHANNELS, rng.randint(1, 2)))}",
        lambda: f"lang:{rng.choice(LANGS)}",
        lambda: f"optout:{rng.choice(list(OptOutCategory)).value}",
        lambda: f"spend{rng.choice(['>', '>=', '<', '<=', '='])}{rng.choice([0, 59, 118, 500])}",
        lambda: f"orders{rng.choice(['>', '>=', '<', '<=', '='])}{rng.randint(0, 4)}",
        lambda: (
            f"{rng.choice(['lastorder', 'firstorder', 'lastseen', 'firstseen'])}"
            f"{rng.choice(['>', '>=', '<', '<='])}{rng.randint(1, 300)}d"
        ),
    ]
    terms = [
        ("-" if rng.random() < 0.3 else "") + rng.choice(atoms)() for _ in range(rng.randint(1, 4))
    ]
    return " ".join(terms)


async def test_segments_match_brute_force_on_generated_contacts(redis):
    rng = random.Random(6)
    await _populate(redis, rng, 300)
    facts = await _facts(redis)
    later = FIXED_NOW + timedelta(days=3)
    expressions = FIXED_EXPRESSIONS + [_random_expression(rng) for _ in range(60)]
    for now in (FIXED_NOW, later):
        for expression in expressions:
            expected = _brute_force(expression, facts, now)
            match = await segments.find(redis, parse(expression), now, limit=1000)
            assert set(match.contact_ids) == expected, expression
            assert match.count == len(expected), expression
    assert not await redis.keys(f"{keys.scope()}:segment:tmp:*"), "scratch keys are deleted"
    assert 0 < len(_brute_force("tag:VIP -tag:黑名单", facts, FIXED_NOW)) < len(facts)


async def test_find_lists_most_recently_seen_first_and_store_keeps_a_ttl(redis):
    for n, days in enumerate((5, 1, 3)):
        await contacts.touch(redis, f"wechat:o{n}", FIXED_NOW - timedelta(days=days))
    match = await segments.find(redis, parse("channel:wechat"), FIXED_NOW, limit=2)
    assert match == segments.SegmentMatch(3, ("wechat:o1", "wechat:o2"))
    dest = keys.segment_scratch("dest", 0)
    stored = await segments.store(redis, parse("channel:wechat"), FIXED_NOW, dest, 30)
    assert stored == 3 and 0 < await redis.ttl(dest) <= 30
    pages = [await segments.stored_slice(redis, dest, start, 2) for start in (0, 2, 4)]
    assert pages == [["wechat:o0", "wechat:o2"], ["wechat:o1"], []]  # least recently seen first


@pytest.mark.parametrize(
    "bad",
    ["colour:red", "spend>lots", "lastorder=30d", "lastorder>30", 'tag:"open', "tag:", "foo>3"],
)
def test_unreadable_expressions_name_the_term(bad):
    with pytest.raises(SegmentError):
        parse(bad)
