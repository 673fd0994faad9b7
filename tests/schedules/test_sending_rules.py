"""The sending rules follow-ups and campaigns share."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from config.settings import Settings
from schedules.campaign_rules import CampaignPolicy
from schedules.dispatch import DispatchPolicy
from schedules.quiet_hours import QuietHours
from schedules.sending_rules import SendingRules

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_rules_come_from_the_settings() -> None:
    settings = Settings(
        timezone="Asia/Shanghai", followup_quiet_hours="22:30-08:00", followup_weekly_cap=3
    )

    rules = SendingRules.from_settings(settings)

    assert rules == SendingRules(SHANGHAI, QuietHours(time(22, 30), time(8, 0)), weekly_cap=3)


def test_follow_ups_and_campaigns_keep_the_same_rules() -> None:
    settings = Settings(followup_quiet_hours="23:00-07:00", followup_weekly_cap=1)

    assert DispatchPolicy.from_settings(settings).rules == SendingRules.from_settings(settings)
    assert CampaignPolicy.from_settings(settings).rules == SendingRules.from_settings(settings)


def test_quiet_until_is_the_end_of_the_quiet_hours_in_the_shops_time() -> None:
    rules = SendingRules(SHANGHAI, QuietHours(time(21, 0), time(9, 0)))

    late = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    afternoon = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai

    assert rules.quiet_until(late) == datetime(2026, 12, 5, 9, 0, tzinfo=SHANGHAI)
    assert rules.quiet_until(afternoon) is None
