"""Issue 13: no AppSecret, access token or signed URL in logs, errors or Redis after failures."""

from __future__ import annotations

import logging

import pytest
from fakes.wechat_api import CUSTOM_SEND, TOKEN_ENDPOINT
from fakes.wechat_messages import TOKEN, signed_params, text_xml
from followup_support import dispatcher
from redis.asyncio import Redis
from support import FIXED_NOW

from bot import redact
from bot.messages import ContactRef, DeliveryError, OutboundMessage, Purpose
from storage import followups, keys
from storage.followups import Followup, State

APP_SECRET = "AppSecret-5f3c9a7e1d"
OPENID = "oSecretOpenid4711"


@pytest.fixture
def app(make_wechat_app, wechat_settings):
    return make_wechat_app(wechat_settings.model_copy(update={"wechat_app_secret": APP_SECRET}))


async def _everything_in(redis: Redis) -> str:
    """Every key and value in the database, as one text."""
    parts: list[str] = []
    async for key in redis.scan_iter():
        parts.append(key)
        match await redis.type(key):
            case "string":
                parts.append(await redis.get(key) or "")
            case "hash":
                parts.extend(f"{k}={v}" for k, v in (await redis.hgetall(key)).items())
            case "list":
                parts.extend(await redis.lrange(key, 0, -1))
            case "set":
                parts.extend(await redis.smembers(key))
            case "zset":
                parts.extend(await redis.zrange(key, 0, -1))
            case "stream":
                parts.extend(str(fields) for _, fields in await redis.xrange(key))
    return "\n".join(parts)


async def _customer_writes(app) -> None:
    params = signed_params(TOKEN) | {"openid": OPENID}
    response = await app.http.post("/wechat", params=params, content=text_xml(OPENID, "hi", 1))
    assert response.status_code == 200


async def test_failed_token_call_leaks_no_secret(app, redis, caplog):
    caplog.set_level(logging.DEBUG)
    await _customer_writes(app)
    app.api.fail_http_next(TOKEN_ENDPOINT, 500)
    message = OutboundMessage(ContactRef("wechat", OPENID), "your parcel", Purpose.TRANSACTIONAL)

    with pytest.raises(DeliveryError) as failure:
        await app.channel.send(message)

    assert app.api.requests(TOKEN_ENDPOINT), "the token call was made"
    assert "500" in str(failure.value)
    for text in (str(failure.value), caplog.text, await _everything_in(redis)):
        assert APP_SECRET not in text
    assert "signature=" not in caplog.text and OPENID not in caplog.text


async def test_failed_send_leaks_no_access_token(app, redis, caplog):
    caplog.set_level(logging.DEBUG)
    await _customer_writes(app)
    app.api.fail_http_next(CUSTOM_SEND, 502)
    message = OutboundMessage(ContactRef("wechat", OPENID), "your parcel", Purpose.TRANSACTIONAL)

    with pytest.raises(DeliveryError) as failure:
        await app.channel.send(message)

    assert "access_token=" not in str(failure.value) + caplog.text
    assert "TOKEN1" not in str(failure.value) + caplog.text


async def test_follow_up_retry_reason_holds_no_secret(app, redis, settings, caplog):
    caplog.set_level(logging.DEBUG)
    await _customer_writes(app)
    contact = f"wechat:{OPENID}"
    care = Followup("order:7:shipped", contact, FIXED_NOW, "shipped", Purpose.TRANSACTIONAL,
                    data={"order_id": "7", "carrier": "SF", "tracking_no": "SF7"})  # fmt: skip
    await followups.schedule_many(redis, [care])
    app.api.fail_http_next(TOKEN_ENDPOINT, 500)

    await dispatcher(redis, settings, app.runtime.delivery).run_due(FIXED_NOW)

    [record] = await followups.of_contact(redis, contact)
    assert record.state is State.PENDING and "500" in record.reason
    assert APP_SECRET not in record.reason
    assert APP_SECRET not in await _everything_in(redis) and APP_SECRET not in caplog.text


def _location_event(openid: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[LOCATION]]></Event>"
        "<Latitude>23.137466</Latitude><Longitude>113.352425</Longitude>"
        "<Precision>119.385040</Precision></xml>"
    )


def _location_message(openid: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1</CreateTime>"
        "<MsgType><![CDATA[location]]></MsgType><Location_X>23.134521</Location_X>"
        "<Location_Y>113.358803</Location_Y><Scale>20</Scale>"
        "<Label><![CDATA[No. 8 Home Street]]></Label><MsgId>6005</MsgId></xml>"
    )


async def test_locations_and_unhandled_events_are_not_logged_raw(app, caplog):
    caplog.set_level(logging.DEBUG)
    for body in (_location_event(OPENID), _location_message(OPENID)):
        response = await app.http.post("/wechat", params=signed_params(TOKEN), content=body)
        assert response.status_code == 200
    assert "event/location" in caplog.text, "the unhandled event is logged by its type"
    for private in ("23.13", "113.35", "Home Street", OPENID):
        assert private not in caplog.text


async def test_the_access_token_is_never_readable_in_redis(app, redis):
    await _customer_writes(app)
    message = OutboundMessage(ContactRef("wechat", OPENID), "your parcel", Purpose.TRANSACTIONAL)
    await app.channel.send(message)
    [sent] = app.api.requests(CUSTOM_SEND)
    assert sent.params["access_token"] == "TOKEN1"
    assert await redis.exists(keys.wechat_access_token("wxshop")), "shared through Redis"
    assert "TOKEN1" not in await _everything_in(redis)


async def test_a_token_stored_readable_or_under_another_secret_is_replaced(app, redis):
    await _customer_writes(app)
    await redis.set(keys.wechat_access_token("wxshop"), "TOKEN-FROM-AN-OLDER-VERSION", ex=600)
    message = OutboundMessage(ContactRef("wechat", OPENID), "your parcel", Purpose.TRANSACTIONAL)
    await app.channel.send(message)
    assert [r.params["access_token"] for r in app.api.requests(CUSTOM_SEND)] == ["TOKEN1"]
    assert "TOKEN-FROM" not in await _everything_in(redis)


async def test_contact_ids_in_logs_are_pseudonyms(app, caplog):
    caplog.set_level(logging.DEBUG)
    await _customer_writes(app)
    await _customer_writes(app)  # WeChat's retry: the dispatcher logs the duplicate
    assert f"duplicate message from {redact.pseudonym('wechat:' + OPENID)}" in caplog.text
    assert OPENID not in caplog.text
