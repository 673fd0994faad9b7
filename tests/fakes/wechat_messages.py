"""Signed WeChat requests for tests and benchmarks: query parameters and XML bodies."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

from support import FIXED_NOW
from wechatpy.crypto import WeChatCrypto

TOKEN = "shoptoken"
"""The token tests configure and sign with."""
WECHAT_DATA = Path(__file__).resolve().parents[1] / "fixtures" / "wechat"


def sign(*parts: str) -> str:
    """WeChat's SHA-1 signature of the sorted parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


NOW_TIMESTAMP = str(int(FIXED_NOW.timestamp()))
"""The ``timestamp`` of a request sent at the tests' fixed clock."""


def signed_params(token: str, *, timestamp: str = NOW_TIMESTAMP, nonce: str | None = None) -> dict:
    """Query parameters of a plaintext-mode callback signed with ``token``.

    Like WeChat, every call gets a new ``nonce`` unless one is given.
    """
    nonce = nonce or secrets.token_hex(5)
    return {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def safe_mode_request(
    token: str, aes_key: str, app_id: str, xml: str, *, timestamp: str = NOW_TIMESTAMP
) -> tuple[dict, str]:
    """(query, body) of a safe-mode callback: ``xml`` encrypted and signed (``msg_signature``)."""
    nonce = secrets.token_hex(5)
    wrapped = WeChatCrypto(token, aes_key, app_id).encrypt_message(xml, nonce, timestamp)
    encrypted = wrapped.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
    signature = sign(token, timestamp, nonce, encrypted)
    params = {"timestamp": timestamp, "nonce": nonce, "msg_signature": signature}
    body = (
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    return params | {"encrypt_type": "aes"}, body


def text_xml(openid: str, content: str, msg_id: int, account: str = "gh_shop") -> str:
    """A text message from ``openid``."""
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def payload(name: str) -> str:
    """One of the payloads in ``tests/fixtures/wechat/``, in WeChat's published format."""
    return (WECHAT_DATA / name).read_text(encoding="utf-8")


def crypto_vectors() -> list[dict[str, Any]]:
    """The safe-mode vectors: decrypt, encrypt, URL verification."""
    return json.loads((WECHAT_DATA / "crypto_vectors.json").read_text(encoding="utf-8"))
