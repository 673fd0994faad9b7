"""Signatures and safe mode against vectors from an independent encoder (tests/fixtures/wechat)."""

from __future__ import annotations

import importlib.util

import pytest
from fakes.wechat_messages import WECHAT_DATA, crypto_vectors, sign

from bot.channels.wechat.crypto import BadPayload, BadSignature, Verifier

DECRYPT, ENCRYPT, URL_CHECK = crypto_vectors()
VECTOR_ENCODER = WECHAT_DATA / "make_vectors.py"


def _verifier(vector: dict) -> Verifier:
    return Verifier(vector["token"], vector["encoding_aes_key"], vector["appid"])


def test_decrypt_vector_yields_the_message():
    xml = _verifier(DECRYPT).decrypt(DECRYPT["encrypt"], DECRYPT)
    for field, value in DECRYPT["expected_plaintext_contains"].items():
        assert f"<{field}><![CDATA[{value}]]></{field}>" in xml


def test_encrypt_vector_decrypts_to_the_reply():
    assert _verifier(ENCRYPT).decrypt(ENCRYPT["encrypt"], ENCRYPT) == ENCRYPT["plaintext_reply"]


def test_url_verification_vector_echoes_the_plaintext():
    params = {key: URL_CHECK[key] for key in ("msg_signature", "timestamp", "nonce", "echostr")}
    assert _verifier(URL_CHECK).echo(params) == URL_CHECK["expected_echo_plaintext"]


def test_wrong_nonce_fails():
    with pytest.raises(BadSignature):
        _verifier(DECRYPT).decrypt(DECRYPT["encrypt"], {**DECRYPT, "nonce": "461056295"})


def test_wrong_app_id_cannot_read_the_message():
    verifier = Verifier(DECRYPT["token"], DECRYPT["encoding_aes_key"], "wxsomeoneelse")
    with pytest.raises(BadPayload):
        verifier.decrypt(DECRYPT["encrypt"], DECRYPT)


def test_plaintext_signature():
    verifier = Verifier("tok", None, None)
    params = {"timestamp": "1", "nonce": "2", "signature": sign("tok", "1", "2")}
    verifier.check(params)
    with pytest.raises(BadSignature):
        verifier.check({**params, "nonce": "3"})
    assert verifier.echo({**params, "echostr": "hello"}) == "hello"


def test_encrypted_reply_round_trips():
    verifier = _verifier(DECRYPT)
    wrapped = verifier.encrypt("<xml><Content>hi</Content></xml>", "nonce9")
    encrypted = wrapped.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    timestamp = wrapped.split("<TimeStamp>")[1].split("</TimeStamp>")[0]
    signature = wrapped.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    params = {"msg_signature": signature, "timestamp": timestamp, "nonce": "nonce9"}
    assert verifier.decrypt(encrypted, params) == "<xml><Content>hi</Content></xml>"


def test_vector_file_is_what_the_encoder_writes():
    spec = importlib.util.spec_from_file_location("make_vectors", VECTOR_ENCODER)
    encoder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(encoder)
    assert encoder.vectors() == [DECRYPT, ENCRYPT, URL_CHECK]
