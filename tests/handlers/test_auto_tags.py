"""Automatic tags: first inquiry, frequent writer, language, ticket intents, FAQ entries."""

from __future__ import annotations

from datetime import timedelta

from support import FIXED_NOW, make_dispatcher

from bot.messages import MessageKind
from handlers.tagging import FIRST_INQUIRY, FREQUENT_WRITER, tag_from_faq
from storage import contacts
from storage.contacts import TagSource


async def tags(redis, contact_id="console:alice"):
    return await contacts.tags_of(redis, contact_id)


async def test_first_message_tags_first_inquiry_and_language_once(redis, settings, make_message):
    clock = [FIXED_NOW]
    dispatcher = make_dispatcher(redis, settings)
    dispatcher.clock = lambda: clock[0]
    await dispatcher.dispatch(make_message("你好"))
    clock[0] = FIXED_NOW + timedelta(hours=1)
    await dispatcher.dispatch(make_message("在吗"))
    await dispatcher.dispatch(make_message("hello"))

    found = await tags(redis)
    assert set(found) == {FIRST_INQUIRY, "lang:zh-CN", "lang:en"}
    assert found[FIRST_INQUIRY].source is TagSource.AUTO
    assert found[FIRST_INQUIRY].applied_at == FIXED_NOW  # applied once, at the first message
    assert found["lang:en"].applied_at == FIXED_NOW + timedelta(hours=1)
    assert await contacts.contacts_with_tag(redis, FIRST_INQUIRY) == {"console:alice"}


async def test_frequent_writer_needs_n_messages_within_m_days(redis, settings, make_message):
    tuned = settings.model_copy(update={"frequent_writer_messages": 3, "frequent_writer_days": 2})
    clock = [FIXED_NOW]
    dispatcher = make_dispatcher(redis, tuned)
    dispatcher.clock = lambda: clock[0]
    for day in (0, 3, 4):  # three messages, but never three within two days
        clock[0] = FIXED_NOW + timedelta(days=day)
        await dispatcher.dispatch(make_message("12345"))
    assert FREQUENT_WRITER not in await tags(redis)

    clock[0] = FIXED_NOW + timedelta(days=4, hours=1)
    await dispatcher.dispatch(make_message("12345"))
    assert (await tags(redis))[FREQUENT_WRITER].applied_at == clock[0]


async def test_ticket_intents_tag_the_contact_once(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    await dispatcher.dispatch(make_message("我要退货 202611220001"))
    first = await tags(redis)
    await dispatcher.dispatch(make_message("我要退款 202611220002"))
    second = await tags(redis)

    assert {"售后", "退货"} <= set(first)
    assert {"售后", "退货", "退款"} <= set(second)
    assert second["售后"] == first["售后"]


async def test_owners_and_events_are_not_tagged(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    await dispatcher.dispatch(make_message("你好", contact="telegram:1"))
    await dispatcher.dispatch(
        make_message(contact="wechat:o1", kind=MessageKind.EVENT, event="subscribe")
    )
    assert await tags(redis, "telegram:1") == {}
    assert await tags(redis, "wechat:o1") == {}


async def test_faq_entries_tag_through_the_exposed_function(redis, settings, make_message):
    seen: list[list[str]] = []

    async def faq_like(message, ctx):
        seen.append(await tag_from_faq(ctx, ["物流", "shipping"]))
        return True

    dispatcher = make_dispatcher(redis, settings, responders=[faq_like])
    await dispatcher.dispatch(make_message("多久能发货"))
    await dispatcher.dispatch(make_message("几天到"))
    assert seen == [["物流", "shipping"], []]
    assert (await tags(redis))["物流"].source is TagSource.AUTO
