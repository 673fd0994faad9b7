"""The platform-events observer: sources, QR scene tags, WeChat events, reachability."""

from __future__ import annotations

from support import FIXED_NOW, make_dispatcher

from bot.messages import MessageKind
from handlers.platform_events import record_platform_event
from storage import contacts, wechat_events
from storage.contacts import TagSource
from storage.wechat_events import WeChatEvent

OA = "wechat:oA"


def _dispatcher(redis, settings):
    return make_dispatcher(redis, settings, observers=(record_platform_event,), responders=())


def _event(make_message, name, key=None, **fields):
    return make_message(contact=OA, kind=MessageKind.EVENT, event=name, event_key=key, **fields)


async def test_a_deep_link_sets_the_source_each_time(redis, settings, make_message):
    dispatcher = _dispatcher(redis, settings)
    start = {"contact": "telegram:5", "kind": MessageKind.COMMAND, "command": "start"}
    await dispatcher.dispatch(make_message("/start spring", source="spring", **start))
    await dispatcher.dispatch(make_message("/start", **start))
    assert (await contacts.get(redis, "telegram:5")).source == "spring"
    await dispatcher.dispatch(make_message("/start autumn", source="autumn", **start))
    assert (await contacts.get(redis, "telegram:5")).source == "autumn"


async def test_a_qr_follow_sets_a_first_source_tags_and_records_the_scan(
    redis, settings, make_message
):
    dispatcher = _dispatcher(redis, settings)
    await dispatcher.dispatch(_event(make_message, "subscribe", "expo"))
    await dispatcher.dispatch(_event(make_message, "subscribe", "mall"))

    contact = await contacts.get(redis, OA)
    assert contact is not None and contact.source == "qr:expo"  # the first source stays
    tags = await contacts.tags_of(redis, OA)
    assert set(tags) == {"qr:expo", "qr:mall"}
    assert tags["qr:expo"].source is TagSource.AUTO
    assert tags["qr:expo"].applied_at == FIXED_NOW
    assert await wechat_events.recent(redis, OA) == [
        WeChatEvent(FIXED_NOW, "scan", "mall"),
        WeChatEvent(FIXED_NOW, "scan", "expo"),
    ]


async def test_a_scan_tags_and_records_but_never_sets_the_source(redis, settings, make_message):
    await _dispatcher(redis, settings).dispatch(_event(make_message, "scan", "expo"))
    contact = await contacts.get(redis, OA)
    assert contact is not None and contact.source is None
    assert set(await contacts.tags_of(redis, OA)) == {"qr:expo"}
    assert await wechat_events.recent(redis, OA) == [WeChatEvent(FIXED_NOW, "scan", "expo")]


async def test_menu_events_are_recorded_and_a_plain_follow_only_touches(
    redis, settings, make_message
):
    dispatcher = _dispatcher(redis, settings)
    await dispatcher.dispatch(_event(make_message, "subscribe"))
    await dispatcher.dispatch(_event(make_message, "view", "https://shop.example/new"))
    await dispatcher.dispatch(_event(make_message, "click"))
    assert await wechat_events.recent(redis, OA) == [
        WeChatEvent(FIXED_NOW, "click", ""),
        WeChatEvent(FIXED_NOW, "view", "https://shop.example/new"),
    ]
    assert await contacts.tags_of(redis, OA) == {}


async def test_a_duplicate_records_nothing(redis, settings, make_message):
    dispatcher = _dispatcher(redis, settings)
    await dispatcher.dispatch(_event(make_message, "scan", "expo", message_id="e1"))
    await dispatcher.dispatch(_event(make_message, "scan", "expo", message_id="e1"))
    assert len(await wechat_events.recent(redis, OA)) == 1


async def test_a_message_makes_an_unreachable_contact_reachable(redis, settings, make_message):
    await contacts.touch(redis, OA, FIXED_NOW)
    await contacts.mark_unreachable(redis, OA, "unsubscribed")
    await _dispatcher(redis, settings).dispatch(_event(make_message, "subscribe"))
    contact = await contacts.get(redis, OA)
    assert contact is not None and contact.unreachable is None
