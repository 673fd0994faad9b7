"""Texts for the shop's owners: rendered in the shop's language, with the contact's profile line."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from bot.context import Context
from config.i18n import Templates
from storage import contacts
from storage.contacts import Contact


async def profile_line(redis: Redis, contact: Contact, templates: Templates, language: str) -> str:
    """``C12 · telegram · Alice · 标签：售后, 退货``: who the customer is, at a glance."""
    tags = await contacts.tags_of(redis, contact.id)
    return templates.render(
        "owner_profile_line",
        language,
        short_id=contact.short_id,
        channel=contact.channel,
        name=contact.display_name or contact.external_id,
        tags=", ".join(tags) or "-",
    )


def render_for_owners(ctx: Context, key: str, **fields: Any) -> str:
    """A template in the shop's language (``SHOPBOT_LANGUAGE``), not the customer's."""
    return ctx.templates.render(
        key, ctx.settings.language, shop_name=ctx.settings.shop_name, **fields
    )


async def notify_owners(ctx: Context, key: str, **fields: Any) -> None:
    """Send ``key`` to every owner, with ``profile`` (the sender's profile line) filled in."""
    language = ctx.settings.language
    profile = await profile_line(ctx.redis, ctx.contact, ctx.templates, language)
    ctx.notify_owners(render_for_owners(ctx, key, profile=profile, **fields))
