"""Pictures over WeChat: a customer's photo reaches a WeChat owner with the same media_id,
and the ``/stats chart`` picture is uploaded as temporary media and sent as an image."""

from __future__ import annotations

import pytest
import xmltodict
from fakes.wechat_api import CUSTOM_SEND, MEDIA_UPLOAD
from fakes.wechat_messages import TOKEN, signed_params, text_xml

from bot.messages import ContactRef, MediaKind, OutboundMessage, Purpose
from storage import media, send_decisions, tickets

OWNER = "oOwner"
CUSTOMER = "oCustomer"


def image_xml(openid: str, media_id: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://mmbiz.example/pic]]></PicUrl>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId></xml>"
    )


def voice_xml(openid: str, media_id: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><Format><![CDATA[amr]]></Format>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


@pytest.fixture
def app(make_wechat_app, wechat_settings, tmp_path):
    settings = wechat_settings.model_copy(
        update={
            "owners": (f"wechat:{OWNER}",),
            "charts_dir": tmp_path / "charts",
            "wechat_reply_budget_ms": 4000,
        }
    )
    return make_wechat_app(settings)


async def post(app, body: str):
    response = await app.http.post("/wechat", params=signed_params(TOKEN), content=body)
    assert response.status_code == 200
    return response


def sent_to(app, openid: str) -> list[dict]:
    return [r.body for r in app.api.requests(CUSTOM_SEND) if r.body["touser"] == openid]


async def test_a_customers_photo_reaches_a_wechat_owner_with_the_same_media_id(app, redis):
    await post(app, text_xml(OWNER, "你好", 1))  # the owner's window is open
    await post(app, text_xml(CUSTOMER, "收到是坏的", 2))
    [ticket] = await tickets.list_all(redis)
    await post(app, image_xml(CUSTOMER, "MEDIA-PHOTO-1", 3))
    await app.channel.tasks.drain()

    to_owner = sent_to(app, OWNER)
    texts = [body["text"]["content"] for body in to_owner if body["msgtype"] == "text"]
    assert any("客户发来图片" in text and ticket.id in text for text in texts)
    images = [body for body in to_owner if body["msgtype"] == "image"]
    assert images == [{"touser": OWNER, "msgtype": "image", "image": {"media_id": "MEDIA-PHOTO-1"}}]
    assert to_owner.index(images[0]) > 0, "the picture follows its notice"

    [kept] = await media.of_contact(redis, f"wechat:{CUSTOMER}")
    assert (kept.kind, kept.channel, kept.ref, kept.ticket_id) == (
        MediaKind.PHOTO,
        "wechat",
        "MEDIA-PHOTO-1",
        ticket.id,
    )
    assert kept.at == app.clock()


async def test_voice_in_a_handoff_is_kept_on_it_and_forwarded(app, redis):
    await post(app, text_xml(OWNER, "你好", 1))
    await post(app, text_xml(CUSTOMER, "转人工", 2))
    await post(app, voice_xml(CUSTOMER, "MEDIA-VOICE-1", 3))
    await app.channel.tasks.drain()

    voices = [body for body in sent_to(app, OWNER) if body["msgtype"] == "voice"]
    assert voices == [{"touser": OWNER, "msgtype": "voice", "voice": {"media_id": "MEDIA-VOICE-1"}}]
    [kept] = await media.of_contact(redis, f"wechat:{CUSTOMER}")
    assert (kept.kind, kept.handoff) == (MediaKind.VOICE, True)


async def test_an_owner_on_wechat_sees_the_media_in_contact(app, redis):
    await post(app, text_xml(OWNER, "你好", 1))
    await post(app, image_xml(CUSTOMER, "MEDIA-PHOTO-2", 2))
    await app.channel.tasks.drain()
    response = await post(app, text_xml(OWNER, "/contact C2", 3))
    shown = xmltodict.parse(response.text)["xml"]["Content"]
    assert "客户发来的图片/文件" in shown and "图片 wechat:MEDIA-PHOTO-2" in shown


async def test_stats_chart_reaches_a_wechat_owner_as_a_picture(app, redis):
    await post(app, text_xml(OWNER, "你好", 1))
    response = await post(app, text_xml(OWNER, "/stats chart", 2))
    await app.channel.tasks.drain()

    assert response.text == "success", "a picture cannot go back passively"
    [upload] = app.api.requests(MEDIA_UPLOAD)
    assert upload.params["type"] == "image"
    assert b"\x89PNG" in upload.upload
    to_owner = sent_to(app, OWNER)
    assert [body["msgtype"] for body in to_owner] == ["text", "image"]
    assert to_owner[1]["image"] == {"media_id": "UPLOADED1"}


async def test_a_picture_without_quota_is_recorded_and_the_text_still_counts(app, redis):
    owner = ContactRef("wechat", OWNER)
    await post(app, text_xml(OWNER, "你好", 1))
    for n in range(4):  # the fifth send of the window is the notice; none is left for a picture
        await app.runtime.delivery.send(
            OutboundMessage(owner, f"note {n}", purpose=Purpose.TRANSACTIONAL)
        )
    await post(app, image_xml(CUSTOMER, "MEDIA-PHOTO-3", 2))
    await app.channel.tasks.drain()

    assert [body["msgtype"] for body in sent_to(app, OWNER)][-1] == "text"
    decisions = await send_decisions.recent(redis, owner.id)
    assert [(d.allowed, d.reason) for d in decisions[:2]] == [
        (True, "inside the customer-service window"),  # the notice's text went out
        (False, "image not sent: no window quota left"),
    ]
