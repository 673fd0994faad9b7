"""Signed WeChat requests for tests and benchmarks: query parameters and XML bodies."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

TOKEN = "shoptoken"
"""The token tests configure and sign with."""
WECHAT_DATA = Path(__file__).resolve().parents[1] / "fixtures" / "wechat"


def sign(*parts: str) -> str:
    """WeChat's SHA-1 signature of the sorted parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed_params(token: str, *, timestamp: str = "1700000000", nonce: str = "n0nce") -> dict:
    """Query parameters of a plaintext-mode callback signed with ``token``."""
    return {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


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
