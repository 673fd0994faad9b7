"""Order-question intents: which one a message is, and whether it asks for action.

Rules live in ``config/order_intents.yaml``. :func:`classify` separates a
*request* about the customer's own order ("我要退货", "I want to return my
order", "退货 订单号 202611220001": a ticket) from a *policy question*
("七天无理由退货吗", "how do returns work", "do you offer refunds?": left to
the FAQ). The decision, first rule that applies:

1. an order number in the message: request (``Reason.ORDER_NUMBER``);
2. a personal marker (我要, 帮我, my, I want, ...): request (``Reason.PERSONAL``);
3. the intent is a *report* of a problem with an order (wrong item, where is
   my parcel): request even when phrased as a question (``Reason.REPORT``);
4. a policy marker (吗, 怎么, how, do you, ?): policy question (``Reason.POLICY``);
5. otherwise a bare statement ("退货", "refund"): request (``Reason.STATEMENT``).

An intent may have *categories* (the complaint intent's causes of bad reviews: 色差,
尺码不对, 物流慢, ...). A category's phrases also make its intent match, the first
category whose phrases occur names it (:attr:`Detection.category`), and a category may
say whether it is a report (rule 3) for itself: "有色差吗" is a question before buying,
"物流怎么这么慢" a complaint.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

import config
from handlers.text_rules import PhraseRule, normalize

INTENTS_FILE = Path(config.__file__).parent / "order_intents.yaml"


class Reason(StrEnum):
    """Why a message was judged a request or a policy question."""

    ORDER_NUMBER = "order_number"
    PERSONAL = "personal"
    REPORT = "report"
    POLICY = "policy"
    STATEMENT = "statement"


@dataclass(frozen=True, slots=True)
class Category:
    """A named kind of one intent (a complaint about colour, size, ...)."""

    name: str
    report: bool
    tags: tuple[str, ...]
    rule: PhraseRule


@dataclass(frozen=True, slots=True)
class Intent:
    """One order intent and how to handle it.

    ``rule`` matches the intent's own phrases and every category's; ``categories``
    are tried in order by :meth:`category_of`.
    """

    name: str
    needs_order: bool
    report: bool
    tags: tuple[str, ...]
    rule: PhraseRule
    categories: tuple[Category, ...] = ()
    follow_up: bool = False
    """A ticket of this intent promises owners' follow-up within
    ``complaint_follow_up_hours``; owners are reminded until one answers it."""

    def category_of(self, normalized: str) -> Category | None:
        """The first category whose phrases occur in already-normalised text."""
        return next((c for c in self.categories if c.rule.search(normalized)), None)

    def category(self, name: str) -> Category | None:
        """The category called ``name``."""
        return next((c for c in self.categories if c.name == name), None)


@dataclass(frozen=True, slots=True)
class Detection:
    """The intent of a message, whether it is a request, why, and its order number."""

    intent: Intent
    reason: Reason
    order_number: str | None
    category: Category | None = None

    @property
    def is_request(self) -> bool:
        """True when the customer asks for something to be done (a ticket)."""
        return self.reason is not Reason.POLICY


@dataclass(frozen=True, slots=True)
class IntentRules:
    """Every intent in priority order, plus the markers that tell requests from questions."""

    intents: tuple[Intent, ...]
    personal: PhraseRule
    policy: PhraseRule

    @classmethod
    def from_config(cls, data: dict[str, Any]) -> IntentRules:
        """Build from the parsed YAML (see ``config/order_intents.yaml``)."""
        intents = tuple(_intent(spec) for spec in data["intents"])
        return cls(intents, _markers(data, "personal_markers"), _markers(data, "policy_markers"))

    def by_name(self, name: str) -> Intent | None:
        """The intent called ``name``."""
        return next((intent for intent in self.intents if intent.name == name), None)

    def intent_of(self, text: str) -> Intent | None:
        """The first intent whose keywords or patterns occur in ``text``."""
        normalized = normalize(text)
        return next((i for i in self.intents if i.rule.search(normalized)), None)

    def classify(self, text: str, order_numbers: re.Pattern[str]) -> Detection | None:
        """The intent of ``text`` and whether it is a request; None when no intent matches."""
        intent = self.intent_of(text)
        if intent is None:
            return None
        normalized = normalize(text)
        category = intent.category_of(normalized)
        report = category.report if category else intent.report
        order_number = find_order_number(text, order_numbers)
        reason = self._reason(report, normalized, order_number)
        return Detection(intent, reason, order_number, category)

    def _reason(self, report: bool, normalized: str, order_number: str | None) -> Reason:
        if order_number:
            return Reason.ORDER_NUMBER
        if self.personal.search(normalized):
            return Reason.PERSONAL
        if report:
            return Reason.REPORT
        if self.policy.search(normalized):
            return Reason.POLICY
        return Reason.STATEMENT


def _intent(spec: dict[str, Any]) -> Intent:
    report = bool(spec.get("report", False))
    categories = tuple(
        Category(
            name=category["name"],
            report=bool(category.get("report", report)),
            tags=tuple(category.get("tags", ())),
            rule=_rule(category),
        )
        for category in spec.get("categories", ())
    )
    every = [spec, *spec.get("categories", ())]
    return Intent(
        name=spec["name"],
        needs_order=bool(spec.get("needs_order", True)),
        report=report,
        tags=tuple(spec.get("tags", ())),
        rule=PhraseRule.compile(
            [k for part in every for k in part.get("keywords", ())],
            [p for part in every for p in part.get("patterns", ())],
        ),
        categories=categories,
        follow_up=bool(spec.get("follow_up", False)),
    )


def _rule(spec: dict[str, Any]) -> PhraseRule:
    return PhraseRule.compile(spec.get("keywords", ()), spec.get("patterns", ()))


def _markers(data: dict[str, Any], name: str) -> PhraseRule:
    return _rule(data.get(name) or {})


@cache
def default_rules() -> IntentRules:
    """The rules from ``config/order_intents.yaml`` (read once)."""
    return IntentRules.from_config(yaml.safe_load(INTENTS_FILE.read_text(encoding="utf-8")))


@cache
def order_number_regex(pattern: str) -> re.Pattern[str]:
    """The compiled order-number pattern (the ``order_number_pattern`` setting)."""
    return re.compile(pattern)


def find_order_number(text: str, order_numbers: re.Pattern[str]) -> str | None:
    """The first order number in ``text``, upper-cased (full-width digits are read too)."""
    # NFKC without lower-casing: the pattern decides about letter case.
    found = order_numbers.search(unicodedata.normalize("NFKC", text))
    return found.group(0).upper() if found else None
