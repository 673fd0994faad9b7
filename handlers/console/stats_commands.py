"""``/stats [7d|30d|90d]`` and ``/stats chart``; the membership line of ``/contact``."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bot.messages import OutboundMessage
from config.membership import Membership, membership_from
from config.settings import Settings
from handlers import stats_chart
from handlers.console.framework import Call, Command
from storage import membership, segments, stages
from storage.segment_parser import Segment, SetAtom, SetField, Term
from storage.stages import Stage
from storage.statistics import Period, Report, compute, daily_series
from storage.timestamps import to_epoch

PERIODS = {"": 30, "7d": 7, "30d": 30, "90d": 90, "7": 7, "30": 30, "90": 90}
CHART_DAYS = 30


def rules_of(settings: Settings) -> Membership:
    """The shop's membership file."""
    return membership_from(settings.membership_file)


async def stats(call: Call) -> None:
    """``/stats [7d|30d|90d]`` the figures; ``/stats chart`` the last 30 days as a PNG."""
    arg = call.args.strip().lower()
    if arg in ("chart", "图表", "图"):
        await _chart(call)
        return
    if arg not in PERIODS:
        raise call.usage()
    settings = call.ctx.settings
    rules = rules_of(settings)
    period = Period.last_days(PERIODS[arg], call.now, settings.tz)
    report = await compute(call.ctx.redis, period, rules, await stage_counts(call, rules))
    call.reply("console_stats", **_fields(call, report, rules))


async def stage_counts(call: Call, rules: Membership) -> dict[str, int]:
    """How many contacts are in each lifecycle stage now (segment evaluation, no scan)."""
    counts = {}
    for stage in Stage:
        segment = Segment((Term(SetAtom(SetField.STAGE, (stage.value,))),))
        found = await segments.find(
            call.ctx.redis, segment, call.now, limit=1, stage_rules=rules.stages
        )
        counts[stage.value] = found.count
    return counts


def _fields(call: Call, report: Report, rules: Membership) -> dict[str, object]:
    language = call.language
    return {
        "days": report.period.days,
        "start": report.period.start.strftime("%Y-%m-%d"),
        "contacts_total": report.contacts_total,
        "contacts_new": report.contacts_new,
        "contacts_active": report.contacts_active,
        "first_inquiries": report.first_inquiries,
        "tickets_opened": report.tickets_opened,
        "tickets_closed": report.tickets_closed,
        "first_response": _duration(report.median_first_response_s),
        "auto_share": _percent(report.auto_share),
        "auto": report.questions_auto,
        "unanswered": report.questions_unanswered,
        "rating_average": "-" if report.rating_average is None else f"{report.rating_average:.2f}",
        "rating_count": report.ratings.total(),
        "rating_distribution": _distribution(report.ratings),
        "orders": report.orders,
        "sales": call.money(report.sales),
        "buyers": report.buyers,
        "repeat_orders": report.repeat_orders,
        "repurchase_rate": _percent(report.repurchase_rate),
        "members_from": _tier_name(rules, rules.members_from, language),
        "members": report.members,
        "new_member_rate": _percent(report.new_member_rate),
        "member_sales_share": _percent(report.member_sales_share),
        "member_activity": _percent(report.member_activity),
        "member_churn": _percent(report.member_churn),
        "tiers": ", ".join(
            f"{_tier_name(rules, tier_id, language)} {count}"
            for tier_id, count in report.tiers.items()
        ),
        "stages": ", ".join(
            f"{call.render(f'stage_{stage}')} {count}" for stage, count in report.stages.items()
        ),
    }


def _tier_name(rules: Membership, tier_id: str, language: str) -> str:
    tier = rules.tier(tier_id)
    return tier.name(language) if tier else tier_id


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _distribution(ratings: Counter[int]) -> str:
    return " ".join(f"{score}★×{ratings.get(score, 0)}" for score in range(1, 6))


async def _chart(call: Call) -> None:
    settings = call.ctx.settings
    period = Period.last_days(CHART_DAYS, call.now, settings.tz)
    series = await daily_series(call.ctx.redis, period, settings.tz)
    folder = settings.charts_dir or settings.data_dir / "charts"
    path = Path(folder) / f"stats-{int(to_epoch(call.now))}.png"
    await asyncio.to_thread(stats_chart.render, series, path)
    call.ctx.outbox.add(
        OutboundMessage(
            recipient=call.ctx.ref,
            text=call.render("console_stats_chart", path=str(path)),
            chat_id=call.message.chat_id,
            image=str(path),
        )
    )


async def membership_section(contact_id: str, call: Call) -> str | None:
    """For ``/contact``: the contact's tier and lifecycle stage."""
    rules = rules_of(call.ctx.settings)
    tier_id = await membership.tier_of(call.ctx.redis, contact_id)
    stage = await stages.stage_of(call.ctx.redis, contact_id, call.now, rules.stages)
    if tier_id is None and stage is None:
        return None
    return call.render(
        "console_membership_section",
        tier=_tier_name(rules, tier_id, call.language) if tier_id else "-",
        stage=call.render(f"stage_{stage}") if stage else "-",
    )


COMMANDS = (Command("stats", stats, "help_stats", aliases=("统计",), owners_only=True),)
