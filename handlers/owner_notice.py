"""Texts for the shop's owners: rendered in the shop's language, with the contact's profile line."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis

from bot.context import Context
from bot.messages import Attachment
from config.i18n import Templates
from storage import contacts
from storage.contacts import Contact


async def profile_line(redis: Redis, contact: Contact, templates: Templates, language: str) -> str:
    """``C12 · telegram · Alice · 标签：售后, 退货``: who the customer is, at a glance."""
    tags = await contacts.tags_of(redis, contact.id)
    return render_profile_line(contact, tags, templates, language)


def render_profile_line(
    contact: Contact, tags: Iterable[str], templates: Templates, language: str
) -> str:
    """:func:`profile_line` from tags already known (a handler has ``ctx.tags``)."""
    return templates.render(
        "owner_profile_line",
        language,
        short_id=contact.short_id,
        channel=contact.channel,
        name=contact.display_name or contact.external_id,
        tags=", ".join(sorted(tags)) or "-",
    )


def render_for_owners(ctx: Context, key: str, **fields: Any) -> str:
    """A template in the shop's language (``SHOPBOT_LANGUAGE``), not the customer's."""
    return ctx.templates.render(
        key, ctx.settings.language, shop_name=ctx.settings.shop_name, **fields
    )


def notify_owners(
    ctx: Context, key: str, *, attachment: Attachment | None = None, **fields: Any
) -> None:
    """Send ``key`` to every owner, with ``profile`` (the sender's profile line) filled in,
    and the customer's ``attachment`` (a photo, ...) when given."""
    language = ctx.settings.language
    profile = render_profile_line(ctx.contact, ctx.tags, ctx.templates, language)
    text = render_for_owners(ctx, key, profile=profile, **fields)
    ctx.notify_owners(text, attachment=attachment)


def ticket_note(ctx: Context, ticket_id: str | None) -> str:
    """``｜工单 T1001`` for owners' notices about a contact with an open ticket, else empty."""
    if not ticket_id:
        return ""
    return render_for_owners(ctx, "owner_handoff_ticket_note", ticket_id=ticket_id)
