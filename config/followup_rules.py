"""Follow-up rules from ``config/followups.yaml``: order care, repurchase and win-back.

The texts become a :class:`~config.i18n.Templates` keyed by rule name (``shipped``,
``repurchase``, ``winback``, ``birthday``), and button labels by ``<rule>.<action>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from config.i18n import Templates

DEFAULT_RULES = Path(__file__).parent / "followups.yaml"
ORDER_STATUSES = (
    "unpaid",
    "paid",
    "shipped",
    "arrived",
    "delivered",
    "completed",
    "cancelled",
    "refunded",
)
PURPOSES = ("transactional", "marketing")
REPURCHASE = "repurchase"
WINBACK = "winback"
BIRTHDAY = "birthday"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


NOTICE_EXPIRES = timedelta(days=2)
"""How long a status notice (any hour) may wait before it is skipped as ``expired``."""
CARE_EXPIRES = timedelta(days=7)
"""How long other care (review, revisit, rating) may wait before it is skipped."""


@dataclass(frozen=True, slots=True)
class LifecycleRule:
    """One order-care message: sent ``delay`` after the order reached ``on``.

    ``any_hour``: a status notice, sent even in quiet hours; other care waits for them
    to end. ``expires_after``: counted from when it was due; one not sent by then is
    skipped with reason ``expired``.
    """

    name: str
    on: str
    delay: timedelta
    purpose: str
    cancel_on: frozenset[str]
    any_hour: bool = False
    expires_after: timedelta = CARE_EXPIRES


@dataclass(frozen=True, slots=True)
class FollowupRules:
    """Every follow-up rule of the shop, with the texts."""

    lifecycle: tuple[LifecycleRule, ...]
    repurchase_days_before: int
    snooze_days: int
    winback_days: tuple[int, ...]
    templates: Templates
    buttons: Mapping[str, tuple[str, ...]]
    """Button actions per template name (``repurchase``, ``revisit``, ...)."""

    def scheduled_on(self, status: str) -> tuple[LifecycleRule, ...]:
        """The lifecycle rules an order reaching ``status`` schedules."""
        return tuple(rule for rule in self.lifecycle if rule.on == status)

    def rule(self, name: str) -> LifecycleRule | None:
        """The lifecycle rule called ``name``."""
        return next((rule for rule in self.lifecycle if rule.name == name), None)


def parse_duration(text: Any) -> timedelta:
    """``30m``, ``2h``, ``7d``, ``45s`` or a number of seconds."""
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"bad duration {text!r}: use e.g. 30m, 2h, 7d")
    number, unit = match.groups()
    return timedelta(seconds=float(number) * _UNITS[unit])


def load_rules(path: Path = DEFAULT_RULES) -> FollowupRules:
    """Read and check a rules file; a bad entry raises ``ValueError`` naming it."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    texts: dict[str, Mapping[str, str]] = {}
    buttons: dict[str, tuple[str, ...]] = {}
    lifecycle = []
    for name, entry in (data.get("lifecycle") or {}).items():
        lifecycle.append(_lifecycle_rule(name, entry))
        _collect_texts(name, entry, texts, buttons)
    repurchase = data.get(REPURCHASE) or {}
    winback = data.get(WINBACK) or {}
    _collect_texts(REPURCHASE, repurchase, texts, buttons)
    _collect_texts(WINBACK, winback, texts, buttons)
    _collect_texts(BIRTHDAY, data.get(BIRTHDAY) or {}, texts, buttons)
    return FollowupRules(
        lifecycle=tuple(lifecycle),
        repurchase_days_before=int(repurchase.get("days_before", 3)),
        snooze_days=int(repurchase.get("snooze_days", 7)),
        winback_days=tuple(sorted(int(days) for days in winback.get("after_days", ()))),
        templates=Templates(texts),
        buttons=buttons,
    )


def _lifecycle_rule(name: str, entry: Mapping[str, Any]) -> LifecycleRule:
    try:
        on = _status(entry["status"])
        purpose = entry.get("purpose", "transactional")
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}")
        default_cancel = [status for status in ORDER_STATUSES if status != on]
        any_hour = bool(entry.get("any_hour", False))
        expires = entry.get("expires_after")
        return LifecycleRule(
            name=name,
            on=on,
            delay=parse_duration(entry.get("delay", 0)),
            purpose=purpose,
            cancel_on=frozenset(_status(s) for s in entry.get("cancel_on", default_cancel)),
            any_hour=any_hour,
            expires_after=_expiry(expires) if expires is not None else _default_expiry(any_hour),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"follow-up rule {name!r}: {exc}") from None


def _expiry(value: Any) -> timedelta:
    expires = parse_duration(value)
    if expires <= timedelta(0):
        raise ValueError("expires_after must be more than 0")
    return expires


def _default_expiry(any_hour: bool) -> timedelta:
    return NOTICE_EXPIRES if any_hour else CARE_EXPIRES


def _status(value: Any) -> str:
    if value not in ORDER_STATUSES:
        raise ValueError(f"unknown order status {value!r}")
    return str(value)


def _collect_texts(
    name: str,
    entry: Mapping[str, Any],
    texts: dict[str, Mapping[str, str]],
    buttons: dict[str, tuple[str, ...]],
) -> None:
    if not entry:
        return
    if not entry.get("text"):
        raise ValueError(f"follow-up rule {name!r}: needs a text per language")
    texts[name] = dict(entry["text"])
    actions = []
    for button in entry.get("buttons", ()):
        texts[f"{name}.{button['action']}"] = dict(button["label"])
        actions.append(button["action"])
    buttons[name] = tuple(actions)


@cache
def rules_from(path: Path | None) -> FollowupRules:
    """The rules in ``path``, or the shipped ``config/followups.yaml`` when None (cached)."""
    return load_rules(path or DEFAULT_RULES)
