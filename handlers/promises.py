"""What the bot promises about a person's answer, true to the shop's business hours.

Inside ``SHOPBOT_BUSINESS_HOURS`` (e.g. ``09:00-22:00``, the shop's time zone) a
person is at work and the bot may say "客服会尽快回复您"; outside them it says when a
person will answer ("客服会在明天 09:00 上班后回复您") instead of promising "at once".
Every template that promises an answer takes the ``{promise}`` field rendered here,
and every caller that sends one also tells the owners (someone is always told).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.context import Context
from schedules.quiet_hours import QuietHours


def opens_at(business_hours: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """None while the shop is open; else when its hours begin again (aware, shop time)."""
    hours = QuietHours.parse(business_hours)
    # The closed hours are the business hours turned inside out: 22:00-09:00.
    closed = QuietHours(hours.end, hours.start)
    return closed.next_allowed(now, tz)


def promise(ctx: Context) -> str:
    """``promise_soon`` while a person is at work, else ``promise_later`` naming when."""
    settings = ctx.settings
    opening = opens_at(settings.business_hours, ctx.now, settings.tz)
    if opening is None:
        return ctx.render("promise_soon")
    return ctx.render("promise_later", when=when(ctx, opening))


def when(ctx: Context, at: datetime) -> str:
    """``今天 09:00`` / ``明天 09:00`` / ``12月6日 09:00`` (en: today at 09:00, ...)."""
    local_now = ctx.now.astimezone(ctx.settings.tz)
    days = (at.date() - local_now.date()).days
    key = {0: "when_today", 1: "when_tomorrow"}.get(days, "when_date")
    return ctx.render(key, time=f"{at:%H:%M}", month=at.month, day=at.day)
