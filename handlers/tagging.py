"""Automatic tags (an observer), each stored with source ``auto`` and its time.

- 首次询单 (first inquiry): on the contact's first customer message;
- 高频咨询 (frequent writer): ``frequent_writer_messages`` messages within
  ``frequent_writer_days`` days;
- ``lang:zh-CN`` / ``lang:en``: the language the contact writes in;
- intent tags (售后, 退款, 物流, 投诉, ...): by the order-question responder
  through :func:`apply_auto_tags` when it opens a ticket, and by the FAQ
  responder through :func:`tag_from_faq` with the answered entry's tags.

Tags are applied once: :func:`storage.contacts.add_tags` keeps the first time
and source. The message count for the frequent writer comes with the message's
arrival (:attr:`bot.context.Context.recent_messages`). Owners are never tagged;
events (follow, menu clicks) are not messages and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from config.i18n import detect_language
from storage import contacts
from storage.contacts import TagSource

FIRST_INQUIRY = "首次询单"
FREQUENT_WRITER = "高频咨询"
LANGUAGE_TAG = "lang:{language}"


async def apply_auto_tags(ctx: Context, tags: Iterable[str]) -> list[str]:
    """Tag the sender (source ``auto``); returns the tags that are new to them.

    New is judged against the tags the sender had when the message arrived; the
    write itself is deferred to the dispatch's last round trip.
    """
    stripped = dict.fromkeys(tag.strip() for tag in tags)
    wanted = [tag for tag in stripped if tag and tag not in ctx.tags]
    if wanted:
        ctx.tags |= frozenset(wanted)
        ctx.defer(
            lambda pipe: contacts.queue_add_tags(pipe, ctx.ref.id, wanted, TagSource.AUTO, ctx.now)
        )
    return wanted


async def tag_from_faq(ctx: Context, entry_tags: Iterable[str]) -> list[str]:
    """For the FAQ responder: tag the sender with the tags of the entry it answered."""
    return await apply_auto_tags(ctx, entry_tags)


async def tag_contact(message: InboundMessage, ctx: Context) -> None:
    """Observer: first inquiry, frequent writer and language tags."""
    if ctx.is_owner or message.kind is MessageKind.EVENT:
        return
    tags = [FIRST_INQUIRY]
    language = detect_language(message.text)
    if language:
        tags.append(LANGUAGE_TAG.format(language=language))
    if ctx.recent_messages >= ctx.settings.frequent_writer_messages:
        tags.append(FREQUENT_WRITER)
    await apply_auto_tags(ctx, tags)
