"""Issue 13, "Closed doors": stale, replayed, forged and downgraded requests to ``/wechat``."""

from __future__ import annotations

import xmltodict
from fakes.wechat_messages import TOKEN, safe_mode_request, sign, signed_params, text_xml
from support import FIXED_NOW

from bot.channels.wechat.crypto import MAX_SKEW_S
from storage import contacts, wechat_events

APP_ID = "wx49f0ab532d5d035a"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
NOW = int(FIXED_NOW.timestamp())


def _at(offset_s: int) -> dict:
    return signed_params(TOKEN, timestamp=str(NOW + offset_s))


def _content(response) -> str:
    return xmltodict.parse(response.text)["xml"]["Content"]


def _scan(openid: str, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event>"
        "<EventKey><![CDATA[poster7]]></EventKey><Ticket><![CDATA[t]]></Ticket></xml>"
    )


def _safe(wechat_settings):
    return wechat_settings.model_copy(
        update={"wechat_token": TOKEN, "wechat_aes_key": AES_KEY, "wechat_app_id": APP_ID}
    )


async def test_stale_and_future_timestamps_are_403_and_nothing_stored(wechat_app, redis):
    for offset in (-MAX_SKEW_S - 1, MAX_SKEW_S + 1, -86_400):
        body = text_xml("oOld", "hi", 5000 + offset)
        response = await wechat_app.http.post("/wechat", params=_at(offset), content=body)
        assert response.status_code == 403, offset
    assert await redis.dbsize() == 0


async def test_timestamps_at_the_edge_of_the_window_are_accepted(wechat_app, redis):
    for n, offset in enumerate((-MAX_SKEW_S, MAX_SKEW_S)):
        body = text_xml("oEdge", "hi", 5100 + n)
        response = await wechat_app.http.post("/wechat", params=_at(offset), content=body)
        assert response.status_code == 200
    assert (await contacts.get(redis, "wechat:oEdge")).message_count == 2


async def test_the_window_follows_the_servers_clock(wechat_app, redis):
    params = _at(0)
    wechat_app.clock.advance(seconds=MAX_SKEW_S + 1)
    response = await wechat_app.http.post("/wechat", params=params, content=text_xml("o", "x", 1))
    assert response.status_code == 403 and await redis.dbsize() == 0


async def test_missing_or_junk_timestamp_is_403(wechat_app, redis):
    for timestamp in ("", "soon", "1" * 40, "-5"):
        params = {"signature": sign(TOKEN, timestamp, "n"), "timestamp": timestamp, "nonce": "n"}
        response = await wechat_app.http.post(
            "/wechat", params=params, content=text_xml("o", "x", 1)
        )
        assert response.status_code == 403, timestamp
    assert await redis.dbsize() == 0


async def test_url_verification_with_a_stale_timestamp_is_403(wechat_app):
    for offset in (-MAX_SKEW_S - 1, MAX_SKEW_S + 1):
        params = {**_at(offset), "echostr": "abc123"}
        response = await wechat_app.http.get("/wechat", params=params)
        assert response.status_code == 403 and "abc123" not in response.text


async def test_an_identical_replay_is_answered_alike_and_handled_once(wechat_app, redis):
    params, body = _at(0), text_xml("oReplay", "你好", 5200)
    first = await wechat_app.http.post("/wechat", params=params, content=body)
    wechat_app.clock.advance(seconds=120)
    replay = await wechat_app.http.post("/wechat", params=params, content=body)
    assert (first.status_code, replay.status_code) == (200, 200)
    assert _content(replay) == _content(first)
    assert (await contacts.get(redis, "wechat:oReplay")).message_count == 1


async def test_a_signed_url_reused_with_another_body_is_403(wechat_app, redis):
    params = _at(0)
    first = await wechat_app.http.post("/wechat", params=params, content=text_xml("oA", "hi", 1))
    forged = text_xml("oOwner", "/claim guess", 2)
    response = await wechat_app.http.post("/wechat", params=params, content=forged)
    assert (first.status_code, response.status_code) == (200, 403)
    assert await contacts.get(redis, "wechat:oOwner") is None


async def test_an_event_sent_again_with_a_new_nonce_is_handled_once(wechat_app, redis):
    body = _scan("oScan", NOW)
    for _ in range(3):
        response = await wechat_app.http.post("/wechat", params=_at(0), content=body)
        assert response.status_code == 200
    events = await wechat_events.recent(redis, "wechat:oScan")
    assert [(e.name, e.detail) for e in events] == [("scan", "poster7")]


async def test_safe_mode_refuses_a_signed_plaintext_body(make_wechat_app, wechat_settings, redis):
    app = make_wechat_app(_safe(wechat_settings))
    body = text_xml("oDowngrade", "hi", 5300)
    response = await app.http.post("/wechat", params=_at(0), content=body)
    assert response.status_code == 403
    assert await redis.dbsize() == 0


async def test_safe_mode_needs_msg_signature(make_wechat_app, wechat_settings, redis):
    settings = _safe(wechat_settings)
    app = make_wechat_app(settings)
    params, body = safe_mode_request(TOKEN, AES_KEY, APP_ID, text_xml("oNoSig", "hi", 5301))
    params.pop("msg_signature")
    params["signature"] = sign(TOKEN, params["timestamp"], params["nonce"])
    response = await app.http.post("/wechat", params=params, content=body)
    assert response.status_code == 403 and await redis.dbsize() == 0


async def test_safe_mode_stale_timestamp_is_403(make_wechat_app, wechat_settings, redis):
    app = make_wechat_app(_safe(wechat_settings))
    stale = str(NOW - MAX_SKEW_S - 1)
    xml = text_xml("oStale", "hi", 5302)
    params, body = safe_mode_request(TOKEN, AES_KEY, APP_ID, xml, timestamp=stale)
    response = await app.http.post("/wechat", params=params, content=body)
    assert response.status_code == 403 and await redis.dbsize() == 0


async def test_safe_mode_replay_is_answered_alike_and_handled_once(
    make_wechat_app, wechat_settings, redis
):
    app = make_wechat_app(_safe(wechat_settings))
    params, body = safe_mode_request(TOKEN, AES_KEY, APP_ID, text_xml("oSafe", "hello", 5303))
    first = await app.http.post("/wechat", params=params, content=body)
    replay = await app.http.post("/wechat", params=params, content=body)
    assert (first.status_code, replay.status_code) == (200, 200)
    assert (await contacts.get(redis, "wechat:oSafe")).message_count == 1


async def test_encrypted_request_without_a_configured_key_is_403(wechat_app, redis):
    params, body = safe_mode_request(TOKEN, AES_KEY, APP_ID, text_xml("oX", "hi", 5304))
    response = await wechat_app.http.post("/wechat", params=params, content=body)
    assert response.status_code == 403 and await redis.dbsize() == 0


async def test_errors_say_what_is_wrong_in_general_terms_only(wechat_app):
    for body in ("<xml><a>1</a></xml>", "<xml><Content>unclosed", "<!DOCTYPE x []><xml/>"):
        response = await wechat_app.http.post("/wechat", params=_at(0), content=body)
        assert (response.status_code, response.text) == (400, "bad request")
    bad = {**_at(0), "signature": "0" * 40}
    response = await wechat_app.http.post("/wechat", params=bad, content="<xml/>")
    assert (response.status_code, response.text) == (403, "forbidden")
