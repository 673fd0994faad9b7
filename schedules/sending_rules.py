"""The rules every marketing message keeps, whether a follow-up or a campaign sends it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from config.settings import Settings
from schedules.quiet_hours import QuietHours


@dataclass(frozen=True, slots=True)
class SendingRules:
    """The shop's time zone, its quiet hours and the weekly cap of marketing per contact.

    Follow-ups apply them when they send; campaigns preview against them and pace by them.
    """

    tz: ZoneInfo
    quiet: QuietHours
    weekly_cap: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> SendingRules:
        """The rules the settings describe (the ``SHOPBOT_FOLLOWUP_QUIET_HOURS`` and
        ``SHOPBOT_FOLLOWUP_WEEKLY_CAP`` settings)."""
        return cls(
            tz=settings.tz,
            quiet=QuietHours.parse(settings.followup_quiet_hours),
            weekly_cap=settings.followup_weekly_cap,
        )

    def quiet_until(self, now: datetime) -> datetime | None:
        """When the quiet hours ``now`` falls in end; None outside them."""
        return self.quiet.next_allowed(now, self.tz)
