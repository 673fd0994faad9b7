"""Reminders that keep a ticket's promise: owners hear before it lapses, and when it has.

A complaint promises the customer a follow-up within ``complaint_follow_up_hours``.
For each owner two follow-ups are queued (:mod:`storage.followups`, sent by the
follow-up dispatcher that APScheduler ticks): ``near``, ``complaint_reminder_lead_minutes``
before the promise lapses (but never in its first half), and ``lapsed``, when it has.
Their ids are noted on the ticket; answering or closing it cancels those still
pending (:func:`cancel`), so a reminder only reaches owners about a ticket nobody answered.

A reminder is rendered when it is sent, in its owner's language; the ticket's label and
the customer's profile line are stored rendered in every language (``label_zh``,
``label_en``, ``profile_zh``, ``profile_en``) for the template of that language to use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from redis.asyncio import Redis

from bot.messages import ContactRef, Purpose
from config.settings import Settings
from storage import followups, tickets
from storage.followups import Followup
from storage.tickets import Ticket

STAGES = ("near", "lapsed")
"""Reminder stages, in order; the template of each is ``owner_ticket_reminder_<stage>``."""


def promised_by(ticket: Ticket, settings: Settings) -> datetime:
    """When the follow-up promised on ``ticket`` lapses."""
    return ticket.created_at + timedelta(hours=settings.complaint_follow_up_hours)


def field_suffix(language: str) -> str:
    """``zh`` for zh-CN, ``en`` for en: the suffix of a per-language field (``label_zh``)."""
    return language.split("-")[0]


def reminders(
    ticket: Ticket,
    owners: Iterable[ContactRef],
    settings: Settings,
    *,
    labels: Mapping[str, str],
    profiles: Mapping[str, str],
) -> list[Followup]:
    """The follow-ups reminding each owner of ``ticket``; ``labels`` (its topic) and
    ``profiles`` (the customer's profile line) by language."""
    due = promised_by(ticket, settings)
    lead = timedelta(minutes=settings.complaint_reminder_lead_minutes)
    near = max(due - lead, ticket.created_at + (due - ticket.created_at) / 2)
    data = {
        "ticket_id": ticket.id,
        "due": f"{due.astimezone(settings.tz):%m-%d %H:%M}",
        "hours": settings.complaint_follow_up_hours,
    }
    for language, label in labels.items():
        data[f"label_{field_suffix(language)}"] = label
    for language, profile in profiles.items():
        data[f"profile_{field_suffix(language)}"] = profile
    return [
        Followup(
            id=f"ticket:{ticket.id}:{stage}:{owner.id}",
            contact_id=owner.id,
            due_at=at,
            template=f"owner_ticket_reminder_{stage}",
            purpose=Purpose.TRANSACTIONAL,
            data=data,
        )
        for owner in owners
        for stage, at in zip(STAGES, (near, due), strict=True)
    ]


async def schedule(redis: Redis, ticket: Ticket, items: list[Followup]) -> None:
    """Queue ``items`` (from :func:`reminders`) and note their ids on the ticket."""
    await followups.schedule_many(redis, items)
    await tickets.note_reminders(redis, ticket.id, [item.id for item in items])


async def cancel(redis: Redis, ticket: Ticket, now: datetime, reason: str) -> int:
    """Cancel the ticket's reminders still pending; returns how many were."""
    cancelled = 0
    for reminder_id in ticket.reminders:
        cancelled += await followups.cancel(redis, reminder_id, now, reason)
    return cancelled
