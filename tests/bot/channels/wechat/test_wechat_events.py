"""Every message and event type over HTTP: what is answered and what is recorded."""

from __future__ import annotations

import xmltodict
from fakes.wechat_messages import TOKEN, payload, signed_params, text_xml

from bot.messages import Button, MessageKind
from config.i18n import default_templates
from storage import contacts, wechat_events, wechat_window
from storage.contacts import TagSource

TEMPLATES = default_templates()
PROMISE = TEMPLATES.text("promise_soon", "zh-CN")  # the clock is inside business hours


async def _post(app, body: str):
    return await app.http.post("/wechat", params=signed_params(TOKEN), content=body)


def _reply(response) -> str:
    assert response.status_code == 200
    return xmltodict.parse(response.text)["xml"]["Content"]


async def test_media_messages_get_a_polite_reply(wechat_app):
    expected = TEMPLATES.render("media_received", "zh-CN", promise=PROMISE)
    for name in ("image_message.xml", "voice_message.xml", "video_message.xml"):
        body = payload(name).replace("1234567890123456", str(hash(name) % 10**9))
        assert _reply(await _post(wechat_app, body)) == expected


async def test_link_and_location_are_media(wechat_app, redis):
    link = payload("link_message.xml").replace("1234567890123456", "11")
    location = payload("location_message.xml").replace("1234567890123456", "12")
    expected = TEMPLATES.render("media_received", "zh-CN", promise=PROMISE)
    assert _reply(await _post(wechat_app, link)) == expected
    assert _reply(await _post(wechat_app, location)) == expected
    assert (await contacts.get(redis, "wechat:fromUser")).message_count == 2


async def test_unknown_type_is_success_and_not_dispatched(wechat_app, redis):
    response = await _post(wechat_app, payload("unknown_message.xml"))
    assert (response.status_code, response.text) == (200, "success")
    assert await contacts.get(redis, "wechat:fromUser") is None


async def test_subscribe_welcomes_and_creates_the_contact(wechat_app, redis):
    reply = _reply(await _post(wechat_app, payload("subscribe_event.xml")))
    assert reply == TEMPLATES.render("greeting", "zh-CN", shop_name="Shopbot")
    contact = await contacts.get(redis, "wechat:FromUser")
    assert contact is not None and contact.source is None
    window = await wechat_window.get(redis, "wechat:FromUser")
    assert window.remaining == 3 and window.is_open(wechat_app.clock())


async def test_subscribe_by_qr_code_records_source_and_tag(wechat_app, redis):
    await _post(wechat_app, payload("subscribe_scan_event.xml"))
    contact = await contacts.get(redis, "wechat:FromUser")
    assert contact.source == "qr:123123"
    tags = await contacts.tags_of(redis, "wechat:FromUser")
    assert tags["qr:123123"].source is TagSource.AUTO


async def test_unsubscribe_marks_unreachable_and_closes_the_window(wechat_app, redis):
    await _post(wechat_app, payload("subscribe_event.xml"))
    response = await _post(wechat_app, payload("unsubscribe_event.xml"))
    assert response.text == "success"
    contact = await contacts.get(redis, "wechat:FromUser")
    assert contact.unreachable == "unsubscribed"
    assert not (await wechat_window.get(redis, "wechat:FromUser")).is_open(wechat_app.clock())


async def test_subscribing_again_makes_the_contact_reachable(wechat_app, redis):
    await _post(wechat_app, payload("subscribe_event.xml"))
    await _post(wechat_app, payload("unsubscribe_event.xml"))
    again = payload("subscribe_event.xml").replace("123456789", "123456999")
    reply = _reply(await _post(wechat_app, again))
    assert reply == TEMPLATES.render("greeting_returning", "zh-CN", shop_name="Shopbot")
    assert (await contacts.get(redis, "wechat:FromUser")).unreachable is None


async def test_scan_records_the_scene(wechat_app, redis):
    response = await _post(wechat_app, payload("scan_event.xml"))
    assert response.text == "success"
    assert "qr:SCENE_VALUE" in await contacts.tags_of(redis, "wechat:FromUser")
    events = await wechat_events.recent(redis, "wechat:FromUser")
    assert [(e.name, e.detail) for e in events] == [("scan", "SCENE_VALUE")]


async def test_view_is_recorded(wechat_app, redis):
    response = await _post(wechat_app, payload("view_event.xml"))
    assert response.text == "success"
    events = await wechat_events.recent(redis, "wechat:FromUser")
    assert [(e.name, e.detail) for e in events] == [("view", "www.qq.com")]


async def test_menu_click_is_handled_as_the_mapped_text(wechat_app, redis):
    body = payload("click_event.xml").replace("EVENTKEY", "GREETING")
    reply = _reply(await _post(wechat_app, body))
    assert reply == TEMPLATES.render("greeting", "zh-CN", shop_name="Shopbot")
    window = await wechat_window.get(redis, "wechat:FromUser")
    assert window.remaining == 3  # a click opens the short window, not the 48-hour one


async def test_unmapped_click_is_recorded_without_answer(wechat_app, redis):
    response = await _post(wechat_app, payload("click_event.xml"))
    assert response.text == "success"
    events = await wechat_events.recent(redis, "wechat:FromUser")
    assert [(e.name, e.detail) for e in events] == [("click", "EVENTKEY")]


async def test_template_delivery_result_is_recorded_once(wechat_app, redis):
    body = payload("template_send_job_finish_event.xml")
    for _ in range(2):  # a retry of the same event
        assert (await _post(wechat_app, body)).text == "success"
    events = await wechat_events.recent(redis, "wechat:fromuser")
    assert [(e.name, e.detail) for e in events] == [("template_result", "msgid 200163836: success")]


async def test_location_report_and_session_events_are_ignored(wechat_app, redis):
    for name in (
        "location_event.xml",
        "kf_create_session_event.xml",
        "mass_send_job_finish_event.xml",
    ):
        assert (await _post(wechat_app, payload(name))).text == "success"
    assert await redis.dbsize() == 0


async def test_numbered_answer_presses_the_offered_button(make_wechat_app, wechat_settings, redis):
    seen = []

    async def offer_or_record(message, ctx):
        seen.append((message.kind, message.payload))
        ctx.reply("choose", buttons=(Button("Yes", "yes"), Button("No", "no")))
        return True

    app = make_wechat_app(wechat_settings, responders=(offer_or_record,))
    assert _reply(await _post(app, text_xml("oB", "hi", 1))) == "choose\n[1] Yes\n[2] No"
    await _post(app, text_xml("oB", "2", 2))
    assert seen[-1] == (MessageKind.BUTTON, "no")
