"""The platform-events observer (sources, QR scene tags, WeChat events, reachability) and
the event sink the channels report what they do not dispatch to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.exceptions import ResponseError
from support import FIXED_NOW, make_dispatcher

from bot.messages import Button, ContactRef, MessageKind, OutboundMessage
from handlers.platform_events import PlatformEvents, record_platform_event
from storage import contacts, keys, wechat_buttons, wechat_events, wechat_window
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


# --- the event sink: what the channels report without dispatching ---

TG = "telegram:7"


def _sink(redis, settings) -> PlatformEvents:
    return PlatformEvents(redis, dedupe_ttl_s=settings.dedupe_ttl_s)


async def test_blocking_marks_unreachable_and_unblocking_reachable(redis, settings, make_message):
    sink = _sink(redis, settings)
    await contacts.touch(redis, TG, FIXED_NOW)
    await sink.record(make_message(contact=TG, kind=MessageKind.EVENT, event="blocked"))
    assert (await contacts.get(redis, TG)).unreachable == "telegram: blocked the bot"
    await sink.record(make_message(contact=TG, kind=MessageKind.EVENT, event="unblocked"))
    assert (await contacts.get(redis, TG)).unreachable is None


async def test_an_unfollow_marks_unreachable_and_closes_the_window(redis, settings, make_message):
    await contacts.touch(redis, OA, FIXED_NOW)
    await wechat_window.open_window(redis, OA, FIXED_NOW, 5, timedelta(hours=48))
    assert (await wechat_window.get(redis, OA)).is_open(FIXED_NOW)
    await _sink(redis, settings).record(_event(make_message, "unsubscribe"))
    assert (await contacts.get(redis, OA)).unreachable == "unsubscribed"
    assert not (await wechat_window.get(redis, OA)).is_open(FIXED_NOW)


async def test_a_redelivered_event_is_recorded_once(redis, settings, make_message):
    sink = _sink(redis, settings)
    report = _event(make_message, "templatesendjobfinish", "2001", payload="success")
    await sink.record(report)
    await sink.record(report)
    assert await wechat_events.recent(redis, OA) == [
        WeChatEvent(FIXED_NOW, "template_result", "msgid 2001: success")
    ]


async def test_a_redis_error_releases_the_claim_so_the_redelivery_is_recorded(
    redis, settings, make_message
):
    sink = _sink(redis, settings)
    unfollow = _event(make_message, "unsubscribe", message_id="u1")
    await redis.set(keys.contact(OA), "not a hash")  # the real server refuses HSET: WRONGTYPE

    with pytest.raises(ResponseError):
        await sink.record(unfollow)
    assert await redis.exists(keys.seen_message("wechat", "u1")) == 0

    await redis.delete(keys.contact(OA))
    await contacts.touch(redis, OA, FIXED_NOW)
    await sink.record(unfollow)
    assert (await contacts.get(redis, OA)).unreachable == "unsubscribed"


async def test_an_unreachable_send_marks_the_contact(redis, settings):
    await contacts.touch(redis, TG, FIXED_NOW)
    reason = "telegram: bot was blocked by the user"
    await _sink(redis, settings).unreachable(ContactRef.parse(TG), reason)
    assert (await contacts.get(redis, TG)).unreachable == reason


async def test_a_sent_message_with_buttons_is_remembered_for_numbered_answers(redis, settings):
    sink, to = _sink(redis, settings), ContactRef.parse(OA)
    await sink.sent(OutboundMessage(to, "plain"))
    assert await wechat_buttons.pressed(redis, OA, 1) is None
    await sink.sent(OutboundMessage(to, "choose", buttons=(Button("Yes", "y"), Button("No", "n"))))
    assert await wechat_buttons.pressed(redis, OA, 2) == ("No", "n")
    assert await wechat_buttons.pressed(redis, OA, 3) is None
