"""The segment language: which contacts an owner means, in one line.

``tag:VIP -tag:黑名单 channel:wechat spend>=500 lastorder>30d`` is the AND of
its terms; a leading ``-`` negates a term; ``a,b`` inside one term is an OR
(``tag:VIP,金卡``). Atoms:

============================  ==========================================================
``tag:NAME`` (``标签:``)       carries the tag; a bare word is a tag too
``channel:NAME`` (``渠道:``)   on that channel (``telegram``, ``wechat``, ``console``)
``lang:CODE`` (``语言:``)      language ``zh-CN`` or ``en`` (``zh`` is accepted)
``optout:CAT`` (``退订:``)     opted out of ``marketing`` or ``repurchase``
``tier:NAME`` (``会员:``)      holds the membership tier (``tier:VIP会员``)
``stage:NAME`` (``阶段:``)     lifecycle stage: ``prospect``, ``first``, ``repeat``,
                              ``at_risk``, ``dormant``, ``churned`` (:mod:`storage.stages`)
``spend OP N`` (``消费``)      lifetime spend (paid orders); no orders counts as 0
``orders OP N`` (``订单数``)   number of paid orders; no orders counts as 0
``lastorder OP AGE``           age of the latest paid order (``最近下单``); none: no match
``firstorder OP AGE``          age of the first paid order (``首单``); none: no match
``lastseen OP AGE``            time since the contact last wrote (``最近活跃``)
``firstseen OP AGE``           time since the contact first appeared (``首次``)
============================  ==========================================================

``OP`` is one of ``>= <= > < =`` (``=`` only for numbers). ``AGE`` is a number
with ``h``, ``d`` or ``w`` (or 小时, 天, 周): ``lastorder>30d`` means the last
order is more than 30 days old, ``lastseen<7d`` that they wrote in the last week.
Parsing is pure; :mod:`storage.segments` evaluates a :class:`Segment` in Redis.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from enum import StrEnum

from storage.stages import STAGE_NAMES, Stage


class SegmentError(ValueError):
    """The expression cannot be understood; the message quotes the bad term."""


class SetField(StrEnum):
    """Atoms that are membership in an index set."""

    TAG = "tag"
    CHANNEL = "channel"
    LANG = "lang"
    OPTOUT = "optout"
    TIER = "tier"
    STAGE = "stage"


class RangeField(StrEnum):
    """Atoms that compare a number or an age."""

    SPEND = "spend"
    ORDERS = "orders"
    LAST_ORDER = "lastorder"
    FIRST_ORDER = "firstorder"
    LAST_SEEN = "lastseen"
    FIRST_SEEN = "firstseen"

    @property
    def is_age(self) -> bool:
        """True for the time atoms, whose value is an age in seconds."""
        return self not in (RangeField.SPEND, RangeField.ORDERS)


@dataclass(frozen=True, slots=True)
class SetAtom:
    """Member of any of ``values`` in the ``field`` index."""

    field: SetField
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RangeAtom:
    """``field OP value``; for ages, ``value`` is in seconds."""

    field: RangeField
    op: str
    value: float

    def accepts(self, got: float) -> bool:
        """True when ``got OP value`` holds (for ages, ``got`` is an age in seconds)."""
        match self.op:
            case ">":
                return got > self.value
            case ">=":
                return got >= self.value
            case "<":
                return got < self.value
            case "<=":
                return got <= self.value
            case _:
                return got == self.value


Atom = SetAtom | RangeAtom


@dataclass(frozen=True, slots=True)
class Term:
    """An atom, possibly negated."""

    atom: Atom
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Segment:
    """The AND of its terms (no terms: every contact)."""

    terms: tuple[Term, ...]

    @property
    def positives(self) -> tuple[Atom, ...]:
        """Atoms a contact must match."""
        return tuple(t.atom for t in self.terms if not t.negated)

    @property
    def negatives(self) -> tuple[Atom, ...]:
        """Atoms a contact must not match."""
        return tuple(t.atom for t in self.terms if t.negated)


SET_NAMES: dict[str, SetField] = {
    "tag": SetField.TAG,
    "标签": SetField.TAG,
    "channel": SetField.CHANNEL,
    "渠道": SetField.CHANNEL,
    "lang": SetField.LANG,
    "language": SetField.LANG,
    "语言": SetField.LANG,
    "optout": SetField.OPTOUT,
    "退订": SetField.OPTOUT,
    "tier": SetField.TIER,
    "会员": SetField.TIER,
    "等级": SetField.TIER,
    "stage": SetField.STAGE,
    "阶段": SetField.STAGE,
}
RANGE_NAMES: dict[str, RangeField] = {
    "spend": RangeField.SPEND,
    "消费": RangeField.SPEND,
    "orders": RangeField.ORDERS,
    "订单数": RangeField.ORDERS,
    "lastorder": RangeField.LAST_ORDER,
    "最近下单": RangeField.LAST_ORDER,
    "firstorder": RangeField.FIRST_ORDER,
    "首单": RangeField.FIRST_ORDER,
    "lastseen": RangeField.LAST_SEEN,
    "最近活跃": RangeField.LAST_SEEN,
    "firstseen": RangeField.FIRST_SEEN,
    "首次": RangeField.FIRST_SEEN,
}
AGE_UNITS: dict[str, int] = {
    "h": 3600,
    "小时": 3600,
    "d": 86_400,
    "天": 86_400,
    "w": 7 * 86_400,
    "周": 7 * 86_400,
}
LANG_ALIASES = {"zh": "zh-CN", "zh-cn": "zh-CN", "cn": "zh-CN", "中文": "zh-CN", "en": "en"}
_RANGE = re.compile(r"^(?P<name>[^\s<>=:：]+)(?P<op>>=|<=|>|<|=)(?P<value>\S+)$")
_AGE = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>[a-z\u4e00-\u9fff]+)$")


def parse(text: str) -> Segment:
    """Parse an expression; raises :class:`SegmentError` naming the term it cannot read."""
    try:
        words = shlex.split(text.replace("：", ":"))
    except ValueError as exc:
        raise SegmentError(f"unbalanced quotes in {text!r}") from exc
    return Segment(tuple(_term(word) for word in words))


def _term(word: str) -> Term:
    negated = word.startswith("-") and len(word) > 1
    body = word[1:] if negated else word
    return Term(_atom(body, word), negated)


def _atom(body: str, word: str) -> Atom:
    ranged = _RANGE.match(body)
    if ranged and ranged["name"].lower() in RANGE_NAMES:
        return _range(RANGE_NAMES[ranged["name"].lower()], ranged["op"], ranged["value"], word)
    name, sep, value = body.partition(":")
    if not sep:
        if ranged:
            raise SegmentError(f"unknown field in {word!r}")
        return SetAtom(SetField.TAG, (body,))
    field = SET_NAMES.get(name.lower())
    if field is None:
        raise SegmentError(f"unknown field {name!r} in {word!r}")
    values = tuple(_set_value(field, v) for v in value.split(",") if v.strip())
    if not values:
        raise SegmentError(f"{word!r} names no value")
    return SetAtom(field, values)


def _set_value(field: SetField, value: str) -> str:
    value = value.strip()
    match field:
        case SetField.LANG:
            return LANG_ALIASES.get(value.lower(), value)
        case SetField.CHANNEL | SetField.OPTOUT:
            return value.lower()
        case SetField.STAGE:
            stage = STAGE_NAMES.get(value.lower())
            if stage is None:
                raise SegmentError(f"unknown stage {value!r}: use {', '.join(Stage)}")
            return stage.value
        case _:
            return value


def _range(field: RangeField, op: str, raw: str, word: str) -> RangeAtom:
    if field.is_age:
        if op == "=":
            raise SegmentError(f"{word!r}: compare ages with < or >, not =")
        age = _AGE.match(raw.lower())
        if not age or age["unit"] not in AGE_UNITS:
            raise SegmentError(f"{word!r}: an age is a number with h, d or w (e.g. 30d)")
        return RangeAtom(field, op, float(age["n"]) * AGE_UNITS[age["unit"]])
    try:
        return RangeAtom(field, op, float(raw))
    except ValueError:
        raise SegmentError(f"{word!r}: {raw!r} is not a number") from None
