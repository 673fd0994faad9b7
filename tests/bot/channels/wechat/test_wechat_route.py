"""``/wechat`` over HTTP: verification, passive replies, safe mode, hostile input."""

from __future__ import annotations

import xmltodict
from fakes.wechat_messages import TOKEN, crypto_vectors, sign, signed_params, text_xml

from bot.channels.wechat.crypto import Verifier
from bot.channels.wechat.xmlsafe import MAX_BODY_BYTES
from config.i18n import default_templates
from storage import contacts

DECRYPT, _, URL_CHECK = crypto_vectors()

XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>evil</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>a</ToUserName><FromUserName>evil</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>2</MsgId></xml>"""


def _content(response) -> str:
    return xmltodict.parse(response.text)["xml"]["Content"]


async def test_url_verification_echoes(wechat_app):
    params = {**signed_params(TOKEN), "echostr": "abc123"}
    response = await wechat_app.http.get("/wechat", params=params)
    assert (response.status_code, response.text) == (200, "abc123")


async def test_url_verification_with_bad_signature_is_403(wechat_app):
    params = {**signed_params(TOKEN), "echostr": "abc123", "nonce": "other"}
    response = await wechat_app.http.get("/wechat", params=params)
    assert response.status_code == 403 and "abc123" not in response.text


async def test_signed_hello_gets_a_passive_welcome(wechat_app, redis):
    body = text_xml("oAlice", "你好", 1001)
    response = await wechat_app.http.post("/wechat", params=signed_params(TOKEN), content=body)
    assert response.status_code == 200
    reply = xmltodict.parse(response.text)["xml"]
    expected = default_templates().render("greeting", "zh-CN", shop_name="Shopbot")
    assert (reply["ToUserName"], reply["FromUserName"]) == ("oAlice", "gh_shop")
    assert (reply["MsgType"], reply["Content"]) == ("text", expected)
    assert (await contacts.get(redis, "wechat:oAlice")).message_count == 1
    assert wechat_app.api.requests() == []


async def test_bad_signature_is_403_and_nothing_stored(wechat_app, redis):
    params = {**signed_params(TOKEN), "signature": "0" * 40}
    response = await wechat_app.http.post("/wechat", params=params, content=text_xml("o", "x", 1))
    assert response.status_code == 403
    assert await redis.dbsize() == 0


async def test_unsigned_request_is_403(wechat_app, redis):
    response = await wechat_app.http.post("/wechat", content=text_xml("o", "x", 1))
    assert response.status_code == 403 and await redis.dbsize() == 0


async def test_oversized_body_is_413_and_nothing_stored(wechat_app, redis):
    body = text_xml("oBig", "x" * MAX_BODY_BYTES, 7)
    response = await wechat_app.http.post("/wechat", params=signed_params(TOKEN), content=body)
    assert response.status_code == 413
    assert await redis.dbsize() == 0


async def test_oversized_body_without_length_is_413(wechat_app, redis):
    async def chunks():
        for _ in range(5):
            yield b"<xml>" + b" " * (MAX_BODY_BYTES // 4)

    response = await wechat_app.http.post("/wechat", params=signed_params(TOKEN), content=chunks())
    assert response.status_code == 413 and await redis.dbsize() == 0


async def test_xxe_is_400_and_nothing_stored(wechat_app, redis):
    response = await wechat_app.http.post("/wechat", params=signed_params(TOKEN), content=XXE)
    assert response.status_code == 400 and "root:" not in response.text
    assert await redis.dbsize() == 0


async def test_billion_laughs_is_400_and_nothing_stored(wechat_app, redis):
    params = signed_params(TOKEN)
    response = await wechat_app.http.post("/wechat", params=params, content=BILLION_LAUGHS)
    assert response.status_code == 400 and await redis.dbsize() == 0


async def test_malformed_and_foreign_xml_are_400(wechat_app, redis):
    params = signed_params(TOKEN)
    for body in ("<xml><Content>unclosed", "not xml at all", "<xml><a>1</a></xml>", ""):
        response = await wechat_app.http.post("/wechat", params=params, content=body)
        assert response.status_code == 400, body
    assert await redis.dbsize() == 0
    # The worker is still fine afterwards.
    response = await wechat_app.http.post("/wechat", params=params, content=text_xml("o", "hi", 2))
    assert response.status_code == 200


def _safe_settings(wechat_settings):
    return wechat_settings.model_copy(
        update={
            "wechat_token": DECRYPT["token"],
            "wechat_aes_key": DECRYPT["encoding_aes_key"],
            "wechat_app_id": DECRYPT["appid"],
        }
    )


def _safe_params(vector: dict, **changes: str) -> dict:
    params = {
        "timestamp": vector["timestamp"],
        "nonce": vector["nonce"],
        "msg_signature": vector["msg_signature"],
        "encrypt_type": "aes",
    }
    return params | changes


def _envelope(vector: dict) -> str:
    encrypted = vector["encrypt"]
    return f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"


async def test_safe_mode_message_gets_an_encrypted_reply(make_wechat_app, wechat_settings, redis):
    settings = _safe_settings(wechat_settings)
    app = make_wechat_app(settings)
    response = await app.http.post(
        "/wechat", params=_safe_params(DECRYPT), content=_envelope(DECRYPT)
    )
    assert response.status_code == 200
    wrapped = xmltodict.parse(response.text)["xml"]
    assert "Content" not in wrapped
    verifier = Verifier(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
    params = {"msg_signature": wrapped["MsgSignature"], "timestamp": wrapped["TimeStamp"]}
    plain = verifier.decrypt(wrapped["Encrypt"], params | {"nonce": wrapped["Nonce"]})
    reply = xmltodict.parse(plain)["xml"]
    promise = default_templates().text("promise_soon", "en")
    expected = default_templates().render("fallback", "en", promise=promise)
    assert (reply["ToUserName"], reply["Content"]) == ("messense", expected)
    assert await contacts.get(redis, "wechat:messense") is not None


async def test_safe_mode_wrong_nonce_is_403(make_wechat_app, wechat_settings, redis):
    app = make_wechat_app(_safe_settings(wechat_settings))
    params = _safe_params(DECRYPT, nonce="461056295")
    response = await app.http.post("/wechat", params=params, content=_envelope(DECRYPT))
    assert response.status_code == 403 and await redis.dbsize() == 0


async def test_safe_mode_url_verification(make_wechat_app, wechat_settings):
    app = make_wechat_app(_safe_settings(wechat_settings))
    params = {key: URL_CHECK[key] for key in ("msg_signature", "timestamp", "nonce", "echostr")}
    response = await app.http.get("/wechat", params=params)
    assert (response.status_code, response.text) == (200, URL_CHECK["expected_echo_plaintext"])


async def test_safe_mode_also_checks_the_plain_signature(make_wechat_app, wechat_settings, redis):
    app = make_wechat_app(_safe_settings(wechat_settings))
    params = _safe_params(DECRYPT, signature=sign("wrong", DECRYPT["timestamp"], DECRYPT["nonce"]))
    response = await app.http.post("/wechat", params=params, content=_envelope(DECRYPT))
    assert response.status_code == 403 and await redis.dbsize() == 0
