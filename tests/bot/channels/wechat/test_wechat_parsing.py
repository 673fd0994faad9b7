"""Every payload in tests/fixtures/wechat/ becomes the right InboundMessage."""
# ruff: noqa: E501

from __future__ import annotations

import pytest
from fakes.wechat_messages import payload
from support import FIXED_NOW

from bot.channels.wechat.parsing import Handling, parse
from bot.channels.wechat.window import EVENT_GRANT, MESSAGE_GRANT, grant_for
from bot.messages import MessageKind

MENU = {"EVENTKEY": "人工", "CMD": "/start"}

CASES = [
    # file, kind, event, event_key, id, handling, text
    ("text_message.xml", MessageKind.TEXT, None, None, "1234567890123456", Handling.DISPATCH, "this is a test"),
    ("image_message.xml", MessageKind.MEDIA, None, None, "1234567890123456", Handling.DISPATCH, ""),
    ("voice_message.xml", MessageKind.MEDIA, None, None, "1234567890123456", Handling.DISPATCH, ""),
    ("video_message.xml", MessageKind.MEDIA, None, None, "1234567890123456", Handling.DISPATCH, ""),
    ("location_message.xml", MessageKind.MEDIA, None, None, "1234567890123456", Handling.DISPATCH, "位置信息"),
    ("link_message.xml", MessageKind.MEDIA, None, None, "1234567890123456", Handling.DISPATCH, "公众平台官网链接 url"),
    ("unknown_message.xml", MessageKind.EVENT, "unknown", None, "1234567890123456", Handling.IGNORE, ""),
    ("subscribe_event.xml", MessageKind.EVENT, "subscribe", None, "FromUser:123456789:subscribe", Handling.DISPATCH, ""),
    ("subscribe_scan_event.xml", MessageKind.EVENT, "subscribe", "123123", "FromUser:123456789:subscribe", Handling.DISPATCH, ""),
    ("unsubscribe_event.xml", MessageKind.EVENT, "unsubscribe", None, "FromUser:123456789:unsubscribe", Handling.RECORD, ""),
    ("scan_event.xml", MessageKind.EVENT, "scan", "SCENE_VALUE", "FromUser:123456789:scan", Handling.DISPATCH, ""),
    ("click_event.xml", MessageKind.TEXT, "click", "EVENTKEY", "FromUser:123456789:click", Handling.DISPATCH, "人工"),
    ("view_event.xml", MessageKind.EVENT, "view", "www.qq.com", "FromUser:123456789:view", Handling.DISPATCH, ""),
    ("location_event.xml", MessageKind.EVENT, "location", None, "fromUser:123456789:location", Handling.IGNORE, ""),
    ("template_send_job_finish_event.xml", MessageKind.EVENT, "templatesendjobfinish", "200163836", "fromuser:1395658920:templatesendjobfinish", Handling.RECORD, ""),
    ("mass_send_job_finish_event.xml", MessageKind.EVENT, "masssendjobfinish", None, "oV5CrjpxgaGXNHIQigzNlgLTnwic:1481013459:masssendjobfinish", Handling.IGNORE, ""),
    ("kf_create_session_event.xml", MessageKind.EVENT, "kf_create_session", None, "fromuser:1399197672:kf_create_session", Handling.IGNORE, ""),
    ("kf_close_session_event.xml", MessageKind.EVENT, "kf_close_session", None, "fromuser:1399197672:kf_close_session", Handling.IGNORE, ""),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kind", "event", "key", "message_id", "handling", "text"), CASES)
def test_payload(name, kind, event, key, message_id, handling, text):
    parsed = parse(payload(name), MENU, FIXED_NOW)
    message = parsed.message
    assert (message.kind, message.event, message.event_key) == (kind, event, key)
    assert (message.id, parsed.handling, message.text) == (message_id, handling, text)
    assert message.contact.channel == "wechat" and message.chat_id == message.contact.external_id
    assert message.received_at == FIXED_NOW and parsed.account


def test_media_payload_names_its_type():
    assert parse(payload("voice_message.xml"), MENU, FIXED_NOW).message.payload == "voice"


def test_template_result_carries_the_status():
    message = parse(payload("template_send_job_finish_event.xml"), MENU, FIXED_NOW).message
    assert message.payload == "success"


def test_menu_key_can_stand_for_a_command():
    xml = payload("click_event.xml").replace("EVENTKEY", "CMD")
    message = parse(xml, MENU, FIXED_NOW).message
    assert (message.kind, message.command, message.event) == (MessageKind.COMMAND, "start", "click")


def test_unmapped_menu_key_stays_an_event():
    message = parse(payload("click_event.xml"), {}, FIXED_NOW).message
    assert (message.kind, message.event, message.event_key) == (
        MessageKind.EVENT,
        "click",
        "EVENTKEY",
    )


@pytest.mark.parametrize(
    ("name", "grant"),
    [
        ("text_message.xml", MESSAGE_GRANT),
        ("image_message.xml", MESSAGE_GRANT),
        ("click_event.xml", EVENT_GRANT),
        ("subscribe_event.xml", EVENT_GRANT),
        ("scan_event.xml", EVENT_GRANT),
        ("view_event.xml", None),
        ("unsubscribe_event.xml", None),
    ],
)
def test_window_grants(name, grant):
    assert grant_for(parse(payload(name), MENU, FIXED_NOW).message) == grant
