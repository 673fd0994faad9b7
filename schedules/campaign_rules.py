"""What a campaign may say and when: texts, times (now, a moment, cron), the sending policy.

Pure functions and values; :mod:`schedules.campaigns` does the work in Redis.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot import payloads
from config.i18n import Templates
from config.membership import StageRules, membership_from
from config.placeholders import fill
from config.settings import Settings
from schedules.sending_rules import SendingRules
from storage.campaigns import Campaign
from storage.segment_parser import parse

PLACEHOLDERS = frozenset({"name", "shop_name"})
SLOT_LOOKBACK = timedelta(hours=1)
"""A cron slot still fires when its process wakes up to this late."""


class CampaignError(ValueError):
    """A campaign cannot be defined as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class When:
    """``now``, a moment (``at``), or a cron line (``cron``)."""

    at: datetime | None = None
    cron: str | None = None

    @property
    def recurring(self) -> bool:
        """True for a cron campaign."""
        return self.cron is not None


NOW_WORDS = frozenset({"now", "现在", "立即", "马上"})


def parse_when(text: str, tz: ZoneInfo) -> When:
    """``now`` / 立即, an ISO time (shop time when no offset), or five cron fields."""
    cleaned = text.strip().strip("\"'“”")
    if cleaned.lower() in NOW_WORDS:
        return When()
    if len(cleaned.split()) == 5:
        cron_trigger(cleaned, tz)
        return When(cron=cleaned)
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise CampaignError(f"{text!r}: use now, a time like 2026-12-01 10:00, or cron") from None
    return When(at=moment if moment.tzinfo else moment.replace(tzinfo=tz))


def cron_trigger(cron: str, tz: ZoneInfo) -> CronTrigger:
    """The APScheduler trigger of a five-field cron line in the shop's time zone."""
    try:
        return CronTrigger.from_crontab(cron, timezone=tz)
    except ValueError as exc:
        raise CampaignError(f"{cron!r}: {exc}") from None


def current_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time of ``trigger`` at or before ``now``, within the lookback."""
    fire = trigger.get_next_fire_time(None, now - SLOT_LOOKBACK)
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last


def check_text(text: str) -> None:
    """Raise :class:`CampaignError` unless ``text`` only uses ``{name}`` and ``{shop_name}``."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise CampaignError(f"{text!r}: {exc} (write {{{{ for a brace)") from None
    unknown = fields - PLACEHOLDERS
    if unknown:
        raise CampaignError(f"unknown placeholder {{{min(unknown)}}}: use {{name}}, {{shop_name}}")


def validate(campaign: Campaign, tz: ZoneInfo) -> When:
    """Check segment, time and texts; returns the parsed time."""
    parse(campaign.segment)
    for text in campaign.texts.values():
        check_text(text)
    if not campaign.texts:
        raise CampaignError("a campaign needs a text")
    return parse_when(campaign.when, tz)


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    """How campaigns are sent: pace, sending rules they are previewed against, texts."""

    rules: SendingRules
    rate_per_minute: int = 600
    batch: int = 500
    language: str = "zh-CN"
    shop_name: str = "Shopbot"
    stage_rules: StageRules | None = None
    """Thresholds of ``stage:`` atoms in audiences (None: the shipped ``membership.yaml``)."""
    keep_s: int = 30 * 86_400
    """How long a finished campaign keeps its frozen audience (``SHOPBOT_FOLLOWUP_KEEP_DAYS``)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> CampaignPolicy:
        """The policy the settings describe."""
        return cls(
            rules=SendingRules.from_settings(settings),
            rate_per_minute=settings.campaign_rate_per_minute,
            batch=settings.campaign_batch,
            language=settings.language,
            shop_name=settings.shop_name,
            stage_rules=membership_from(settings.membership_file).stages,
            keep_s=settings.followup_keep_days * 86_400,
        )


def render(
    campaign: Campaign,
    language: str,
    name: str | None,
    policy: CampaignPolicy,
    templates: Templates,
) -> tuple[str, list[tuple[str, str]]]:
    """The text and ``(label, payload)`` buttons a contact in ``language`` gets."""
    text = campaign.texts.get(language) or next(iter(campaign.texts.values()))
    fallback = templates.text("followup_name_fallback", language)
    fields = {"name": name or fallback, "shop_name": policy.shop_name}
    buttons = [
        (labels.get(language) or next(iter(labels.values())), payloads.campaign(campaign.id, n))
        for n, labels in enumerate(campaign.buttons, start=1)
    ]
    return fill(text, fields, blank_missing=True), buttons
