"""Membership settings from ``config/membership.yaml``: tiers, lifecycle stage thresholds,
satisfaction. Pure data; :mod:`schedules.membership` and :mod:`storage.stages` use it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_MEMBERSHIP = Path(__file__).parent / "membership.yaml"
DAY_S = 86_400
BIRTHDAY_WISHES = {"zh-CN": "生日祝福", "en": "birthday wishes"}


class Basis(StrEnum):
    """What tiers are earned by."""

    SPEND = "spend"
    POINTS = "points"


class Mode(StrEnum):
    """Whether a tier can be lost again."""

    UPGRADE_ONLY = "upgrade_only"
    UPGRADE_AND_DOWNGRADE = "upgrade_and_downgrade"


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier: its id (used in segments, ``tier:VIP会员``), threshold, names and benefits."""

    id: str
    min: float
    names: Mapping[str, str]
    benefits: Mapping[str, str]
    birthday_wishes: bool = False
    """生日祝福: promised only to a contact whose birthday is recorded (so it can be sent)."""

    def name(self, language: str) -> str:
        """The tier's name in ``language`` (else any, else the id)."""
        return self.names.get(language) or next(iter(self.names.values()), self.id)

    def benefit(self, language: str, *, birthday: bool = False) -> str:
        """The tier's benefits in ``language`` (else any); birthday wishes are listed only
        when ``birthday`` (the contact's birthday is recorded) and the tier has them."""
        listed = self.benefits.get(language) or next(iter(self.benefits.values()), "")
        if not (birthday and self.birthday_wishes):
            return listed
        wishes = BIRTHDAY_WISHES.get(language, BIRTHDAY_WISHES["en"])
        return f"{wishes}{'、' if language == 'zh-CN' else ', '}{listed}" if listed else wishes


@dataclass(frozen=True, slots=True)
class StageRules:
    """Thresholds of the lifecycle stages, in days."""

    expected_cycle_days: float = 30
    grace_days: float = 7
    dormant_days: float = 90
    churned_days: float = 180


@dataclass(frozen=True, slots=True)
class SatisfactionRules:
    """When to ask for a rating and what counts as unhappy."""

    after_ticket_close: bool = True
    pending_hours: float = 72
    low_score: int = 2


@dataclass(frozen=True, slots=True)
class Membership:
    """Everything in ``membership.yaml``."""

    basis: Basis
    points_per_unit: float
    mode: Mode
    window_days: float
    tiers: tuple[Tier, ...]
    members_from: str
    stages: StageRules
    satisfaction: SatisfactionRules

    def tier(self, tier_id: str | None) -> Tier | None:
        """The tier called ``tier_id``; None for None or an unknown id."""
        return next((tier for tier in self.tiers if tier.id == tier_id), None)

    def rank(self, tier_id: str | None) -> int:
        """0 for no tier, 1 for the entry tier, and so on."""
        ids = [tier.id for tier in self.tiers]
        return ids.index(tier_id) + 1 if tier_id in ids else 0

    def tier_for(self, value: float, orders: int) -> Tier | None:
        """The highest tier ``value`` (spend or points) reaches; None without an order."""
        if orders <= 0:
            return None
        reached = [tier for tier in self.tiers if value >= tier.min]
        return reached[-1] if reached else None

    def is_member(self, tier_id: str | None) -> bool:
        """True when ``tier_id`` is at or above ``members_from`` (a member in the statistics)."""
        return self.rank(tier_id) >= self.rank(self.members_from) > 0


def load_membership(path: Path = DEFAULT_MEMBERSHIP) -> Membership:
    """Read and check the file; a bad entry raises ``ValueError`` naming it."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    tiers = tuple(_tier(entry) for entry in data.get("tiers") or ())
    if not tiers:
        raise ValueError(f"{path}: needs at least one tier")
    if [t.min for t in tiers] != sorted(t.min for t in tiers):
        raise ValueError(f"{path}: tiers must be listed lowest first")
    members_from = str(data.get("members_from") or tiers[min(1, len(tiers) - 1)].id)
    if members_from not in {t.id for t in tiers}:
        raise ValueError(f"{path}: members_from {members_from!r} is not a tier")
    return Membership(
        basis=Basis(data.get("basis", "spend")),
        points_per_unit=float(data.get("points_per_unit", 1)),
        mode=Mode(data.get("mode", "upgrade_only")),
        window_days=float(data.get("window_days", 365)),
        tiers=tiers,
        members_from=members_from,
        stages=StageRules(**{k: float(v) for k, v in (data.get("stages") or {}).items()}),
        satisfaction=_satisfaction(data.get("satisfaction") or {}),
    )


def _tier(entry: Mapping[str, Any]) -> Tier:
    try:
        return Tier(
            id=str(entry["id"]),
            min=float(entry.get("min", 0)),
            names=dict(entry.get("name") or {"zh-CN": entry["id"]}),
            benefits=dict(entry.get("benefits") or {}),
            birthday_wishes=bool(entry.get("birthday_wishes", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"tier {entry!r}: {exc}") from None


def _satisfaction(data: Mapping[str, Any]) -> SatisfactionRules:
    return SatisfactionRules(
        after_ticket_close=bool(data.get("after_ticket_close", True)),
        pending_hours=float(data.get("pending_hours", 72)),
        low_score=int(data.get("low_score", 2)),
    )


@cache
def membership_from(path: Path | None) -> Membership:
    """The membership file at ``path``, or the shipped one when None (cached)."""
    return load_membership(path or DEFAULT_MEMBERSHIP)
