"""``python -m bot followups``: see what is scheduled, and run a dispatch pass by hand.

``list [--contact REF] [--due-before ISO]`` shows follow-ups and why they wait (or how
they ended; without ``--contact`` it also shows those whose send is uncertain);
``run-due [--now ISO]`` runs one pass as if it were that time, sending
through the configured channels (a terminal contact finds it in its mailbox).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.app import open_runtime
from bot.commands import Subparsers
from bot.messages import ContactRef
from config.settings import Settings
from schedules.dispatch import FollowupDispatcher, PassReport
from storage import contacts, followups, send_claims
from storage.followups import Record, State


def register(subparsers: Subparsers) -> None:
    """Add the ``followups`` command and its ``list`` and ``run-due`` subcommands."""
    parser = subparsers.add_parser("followups", help="list follow-ups, run a dispatch pass")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", help="pending and uncertain follow-ups, or all of one contact's"
    )
    listing.add_argument("--contact", help="channel:id or short id (C12): everything of theirs")
    listing.add_argument("--due-before", type=_moment, help="only those due before (ISO time)")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    listing.set_defaults(func=lambda args, settings: asyncio.run(list_followups(args, settings)))
    run_due = actions.add_parser("run-due", help="run one dispatch pass now, or as of --now")
    run_due.add_argument("--now", type=_moment, help="pretend it is this time (ISO)")
    run_due.set_defaults(func=lambda args, settings: asyncio.run(run_due_pass(args, settings)))


def _moment(text: str) -> datetime:
    """An ISO time; one without a zone is read in UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO time: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def list_followups(
    args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout
) -> int:
    """Print follow-ups, one per line: due, state, id, contact, template, purpose, why."""
    async with open_runtime(settings) as runtime:
        if args.contact:
            contact_id = await resolve_contact(runtime.redis, args.contact)
            if contact_id is None:
                print(f"error: no contact {args.contact!r}", file=sys.stderr)
                return 1
            records = await followups.of_contact(runtime.redis, contact_id)
            if args.due_before:
                records = [r for r in records if r.followup.due_at < args.due_before]
            records = records[: args.limit]
        else:
            records = await followups.pending(runtime.redis, args.due_before, args.limit)
            records += await uncertain(runtime.redis, datetime.now(UTC), args.limit)
    for record in records:
        print(describe(record, settings.tz), file=out)
    if not records:
        print("no follow-ups", file=out)
    return 0


async def uncertain(redis: Redis, now: datetime, limit: int) -> list[Record]:
    """The newest follow-ups whose send is uncertain (kept ``UNCERTAIN_KEEP_S``)."""
    since = now - timedelta(seconds=send_claims.UNCERTAIN_KEEP_S)
    sends = await send_claims.uncertain_between(redis, since, now)
    found = await followups.records(redis, [send.idempotency_key for send in sends])
    return [record for record in found if record.state is State.UNCERTAIN][-limit:]


async def resolve_contact(redis: Redis, ref: str) -> str | None:
    """The contact id behind ``channel:id`` or a short id (``C12``), or None."""
    if ":" in ref:
        return ContactRef.parse(ref).id
    return await contacts.resolve_short_id(redis, ref)


def describe(record: Record, tz: ZoneInfo) -> str:
    """One line for ``list``."""
    item = record.followup
    due = item.due_at.astimezone(tz).isoformat(timespec="minutes")
    why = record.reason + (f" (attempt {record.attempts})" if record.attempts else "")
    return "  ".join(
        part
        for part in (
            due,
            f"{record.state.value:<9}",
            item.id,
            item.contact_id,
            item.template,
            item.purpose,
            why,
        )
        if part
    )


async def run_due_pass(
    args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout
) -> int:
    """Run one pass through the configured channels; print each outcome and a summary."""
    now = args.now or datetime.now(UTC)
    async with open_runtime(settings) as runtime:
        dispatcher = FollowupDispatcher.from_settings(runtime.redis, runtime.delivery, settings)
        report = await dispatcher.run_due(now)
    for item_id, outcome in report.results.items():
        print(f"{item_id}: {outcome}", file=out)
    print(summary(report), file=out)
    return 0


def summary(report: PassReport) -> str:
    """The pass in one line."""
    return (
        f"{report.claimed} due: {report.sent} sent, {report.skipped.total()} skipped, "
        f"{report.postponed.total()} postponed, {report.retried} to retry, {report.dead} dead, "
        f"{report.uncertain} uncertain"
    )
