"""``/campaign`` (活动): create, preview, send with confirmation, watch, pause, resume, cancel.

Owners only: staff may look after customers but not message all of them.

    /campaign new 回购 | orders>=2 lastorder>30d | now | 好久不见… | Long time… | 看看/Look
    /campaign preview K1    /campaign send K1    /campaign confirm K1    /campaign status K1

The parts of ``new`` are separated by ``|``: name, segment (the ``/find`` language),
when (``now``, ``2026-12-01 10:00`` or a cron line such as ``0 10 1 * *``), the
Chinese text, the English text (optional: one text serves both), and optional
buttons separated by ``;`` (each ``中文/English``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.messages import Button, Outlet
from config.campaigns import label_per_language
from handlers.console.framework import Call, Command, Refusal
from schedules.campaign_rules import parse_when, validate
from schedules.campaigns import CampaignRunner, Preview, Tally, results_between
from storage import campaigns, contacts
from storage.campaigns import Campaign, Status

_PARTS = re.compile(r"\s*[|｜]\s*")
_BUTTON_PREFIX = re.compile(r"^(buttons?|按钮)\s*[:：]\s*", re.IGNORECASE)
_BUTTONS = re.compile(r"\s*[;；]\s*")

Action = Callable[[Call, CampaignRunner, str], Awaitable[None]]


def campaign_commands(outlet: Outlet | None = None) -> tuple[Command, ...]:
    """The ``/campaign`` command; ``outlet`` lets previews ask the channels (WeChat window)."""

    async def run(call: Call) -> None:
        sub, _, rest = call.args.partition(" ")
        action = _ACTIONS.get(sub.lower() or "list")
        if action is None:
            raise call.usage()
        runner = CampaignRunner.from_settings(call.ctx.redis, call.ctx.settings, outlet)
        await action(call, runner, rest.strip())

    return (Command("campaign", run, "help_campaign", aliases=("活动", "营销"), owners_only=True),)


async def _list(call: Call, runner: CampaignRunner, _rest: str) -> None:
    found = await campaigns.all_campaigns(call.ctx.redis)
    if not found:
        raise Refusal("campaign_none")
    lines = [
        call.render(
            "campaign_line",
            id=c.id,
            name=c.name,
            status=_status(call, c.status),
            when=c.when,
        )
        for c in found
    ]
    call.reply("campaign_list", campaigns="\n".join(lines))


async def _new(call: Call, runner: CampaignRunner, rest: str) -> None:
    parts = _PARTS.split(rest)
    if len(parts) < 4 or not all(parts[:4]):
        raise call.usage()
    name, segment, when, zh, *more = parts
    en = more[0] if more and more[0] else zh
    buttons = tuple(label_per_language(b) for b in _buttons(more[1] if len(more) > 1 else ""))
    campaign = Campaign(
        id=await campaigns.next_id(call.ctx.redis),
        name=name,
        segment=segment,
        when=when.strip("\"'“”"),
        texts={"zh-CN": zh, "en": en},
        buttons=buttons,
        created_at=call.now,
        created_by=call.actor,
    )
    try:
        validate(campaign, call.ctx.settings.tz)
    except ValueError as exc:
        raise Refusal("campaign_invalid", error=str(exc)) from None
    await campaigns.save(call.ctx.redis, campaign)
    call.target = campaign.id
    call.reply("campaign_created", id=campaign.id, name=name, segment=segment, when=campaign.when)


def _buttons(text: str) -> list[str]:
    body = _BUTTON_PREFIX.sub("", text.strip())
    return [label for label in _BUTTONS.split(body) if label]


async def _preview(call: Call, runner: CampaignRunner, rest: str) -> None:
    campaign = await _campaign(call, rest)
    preview = await runner.preview(campaign, call.now)
    call.reply(
        "campaign_preview",
        id=campaign.id,
        name=campaign.name,
        matched=preview.matched,
        reach=preview.reachable,
        opted_out=preview.opted_out,
        unreachable=preview.unreachable,
        capped=preview.capped,
        channel=_channel_lines(call, preview),
        quiet=_quiet(call, preview),
    )
    owner = await contacts.get(call.ctx.redis, call.actor)
    for text, buttons in runner.test_messages(campaign, owner.display_name if owner else None):
        call.ctx.reply(text, buttons=tuple(Button(label, payload) for label, payload in buttons))


def _channel_lines(call: Call, preview: Preview) -> str:
    if not preview.checked_channels:
        return call.render("campaign_channels_unchecked")
    lines = [f"{reason}: {count}" for reason, count in preview.refused.most_common()]
    return call.render("campaign_channels", refused="; ".join(lines) or "0")


def _quiet(call: Call, preview: Preview) -> str:
    if preview.quiet_until is None:
        return ""
    return call.render("campaign_quiet_now", until=call.when(preview.quiet_until))


async def _send(call: Call, runner: CampaignRunner, rest: str) -> None:
    campaign = await _campaign(call, rest)
    ready = [Status.DRAFT, Status.CONFIRMING]
    if not await campaigns.transition(call.ctx.redis, campaign.id, ready, Status.CONFIRMING):
        raise _wrong_status(call, campaign)
    preview = await runner.preview(campaign, call.now)
    call.reply(
        "campaign_confirm_needed",
        id=campaign.id,
        name=campaign.name,
        count=preview.reachable,
        excluded=preview.matched - preview.reachable,
    )


async def _confirm(call: Call, runner: CampaignRunner, rest: str) -> None:
    campaign = await _campaign(call, rest)
    started = await runner.confirm(campaign, call.now)
    when = parse_when(campaign.when, call.ctx.settings.tz)
    match started:
        case Status.SENDING:
            call.reply("campaign_sending", id=campaign.id, name=campaign.name)
        case Status.SCHEDULED:
            call.reply("campaign_scheduled", id=campaign.id, at=call.when(when.at))
        case Status.ARMED:
            call.reply("campaign_armed", id=campaign.id, cron=when.cron)
        case _:
            raise Refusal("campaign_send_first", id=campaign.id)


async def _status_of(call: Call, runner: CampaignRunner, rest: str) -> None:
    campaign = await _campaign(call, rest)
    lines = [await _status_text(call, runner, campaign)]
    if campaign.status is Status.ARMED or campaign.source == "config":
        runs = [c for c in await campaigns.all_campaigns(call.ctx.redis) if c.parent == campaign.id]
        lines += [await _status_text(call, runner, run) for run in runs[-3:]]
    call.ctx.reply("\n\n".join(lines))


async def _status_text(call: Call, runner: CampaignRunner, campaign: Campaign) -> str:
    tally = await runner.tally(campaign, call.now)
    if campaign.status in (Status.DONE, Status.CANCELLED) and campaign.results:
        _restore(tally, campaign)
    skipped = "\n".join(f"  - {reason}: {n}" for reason, n in tally.skipped.most_common())
    return call.render(
        "campaign_status",
        id=campaign.id,
        name=campaign.name,
        status=_status(call, campaign.status),
        audience=tally.audience,
        opted_out=tally.opted_out,
        sent=tally.sent,
        failed=tally.failed,
        skipped_total=tally.skipped.total(),
        skipped=f"\n{skipped}" if skipped else "",
        cancelled=tally.cancelled,
        remaining=tally.remaining,
        rate=f"{tally.rate_per_minute:.1f}",
        replied=tally.replied,
        ordered=tally.ordered,
        revenue=call.money(tally.revenue),
    )


def _restore(tally: Tally, campaign: Campaign) -> None:
    """Figures of a finished campaign whose messages may have expired from the queue (a
    cancelled one has them once its audience was swept)."""
    results = campaign.results
    tally.sent = max(tally.sent, int(results.get("sent", 0)))
    tally.failed = max(tally.failed, int(results.get("failed", 0)))
    tally.cancelled = max(tally.cancelled, int(results.get("cancelled", 0)))
    if not tally.skipped:
        tally.skipped.update(dict(results.get("skipped", {})))
    tally.pending = 0


async def _pause(call: Call, runner: CampaignRunner, rest: str) -> None:
    campaign = await _campaign(call, rest)
    if not await runner.pause(campaign.id):
        raise _wrong_status(call, campaign)
    call.reply("campaign_paused", id=campaign.id)


async def _resume(call: Call, runner: CampaignRunner, rest: str) -> None:
    campaign = await _campaign(call, rest)
    if not await runner.resume(campaign.id, call.now):
        raise _wrong_status(call, campaign)
    call.reply("campaign_resumed", id=campaign.id)


async def _cancel(call: Call, runner: CampaignRunner, rest: str) -> None:
    campaign = await _campaign(call, rest)
    withdrawn = await runner.cancel(campaign.id, call.now)
    if withdrawn is None:
        raise _wrong_status(call, campaign)
    call.reply("campaign_cancelled", id=campaign.id, withdrawn=withdrawn)


async def _campaign(call: Call, rest: str) -> Campaign:
    campaign_id = rest.split()[0] if rest.split() else ""
    if not campaign_id:
        raise call.usage()
    campaign = await campaigns.get(call.ctx.redis, campaign_id) or await campaigns.get(
        call.ctx.redis, campaign_id.upper()
    )
    if campaign is None:
        raise Refusal("campaign_unknown", id=campaign_id)
    call.target = campaign.id
    return campaign


def _wrong_status(call: Call, campaign: Campaign) -> Refusal:
    return Refusal("campaign_wrong_status", id=campaign.id, status=_status(call, campaign.status))


async def campaign_stats_line(call: Call, start: datetime) -> str:
    """For ``/stats``: what the campaigns started since ``start`` achieved."""
    runner = CampaignRunner.from_settings(call.ctx.redis, call.ctx.settings)
    results = await results_between(runner, start, call.now)
    return call.render(
        "campaign_stats_line",
        campaigns=results.campaigns,
        sent=results.sent,
        replied=results.replied,
        ordered=results.ordered,
        revenue=call.money(results.revenue),
    )


def _status(call: Call, status: Status) -> str:
    return call.render(f"campaign_status_{status.value}")


_ACTIONS: dict[str, Action] = {
    "list": _list,
    "列表": _list,
    "new": _new,
    "新建": _new,
    "preview": _preview,
    "预览": _preview,
    "send": _send,
    "发送": _send,
    "confirm": _confirm,
    "确认": _confirm,
    "status": _status_of,
    "状态": _status_of,
    "pause": _pause,
    "暂停": _pause,
    "resume": _resume,
    "继续": _resume,
    "cancel": _cancel,
    "取消": _cancel,
}
