"""Signatures and safe mode (AES): who may call ``/wechat``, and what they said.

Plaintext mode signs ``token, timestamp, nonce`` (``signature``); safe mode also
signs the encrypted payload (``msg_signature``) and encrypts both directions.
Neither signature expires by itself, so every request must also be fresh: its
``timestamp`` within :data:`MAX_SKEW_S` of our clock (:func:`check_fresh`).
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import time
from collections.abc import Mapping
from datetime import datetime

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException


class BadSignature(Exception):
    """The request is not signed with our token."""


class BadPayload(Exception):
    """A signed request whose encrypted payload cannot be read."""


class StaleRequest(BadSignature):
    """A request whose ``timestamp`` is missing or too far from our clock."""


MAX_SKEW_S = 300
"""How far (either way) a request's ``timestamp`` may be from the server's clock."""


def check_fresh(params: Mapping[str, str], now: datetime) -> None:
    """Raise :class:`StaleRequest` unless ``timestamp`` is within :data:`MAX_SKEW_S` of ``now``."""
    raw = params.get("timestamp", "")
    if (
        not (raw.isascii() and raw.isdigit() and len(raw) <= 12)
        or abs(int(raw) - now.timestamp()) > MAX_SKEW_S
    ):
        raise StaleRequest()


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted parts joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat fixes SHA-1


class TokenSeal:
    """Keeps the access token unreadable in Redis, where every process shares it.

    WeChat's own AES scheme (:class:`PrpCrypto`) under a key derived from the
    AppSecret, which every process of the shop has and Redis never sees.
    """

    def __init__(self, app_id: str, app_secret: str) -> None:
        self._app_id = app_id
        key = hashlib.sha256(b"shopbot-wechat-access-token\0" + app_secret.encode()).digest()
        self._crypto = PrpCrypto(key)

    def seal(self, token: str) -> str:
        """The token as stored."""
        sealed = self._crypto.encrypt(token, self._app_id)
        return sealed.decode() if isinstance(sealed, bytes) else sealed

    def open(self, sealed: str) -> str:
        """The token; :class:`BadPayload` if it was sealed otherwise (another AppSecret)."""
        try:
            return _text(self._crypto.decrypt(sealed, self._app_id))
        except (InvalidAppIdException, ValueError, IndexError, struct.error):
            raise BadPayload("the stored access token cannot be opened") from None


class Verifier:
    """Checks signatures and, in safe mode, decrypts and encrypts messages."""

    def __init__(self, token: str, aes_key: str | None, app_id: str | None) -> None:
        self.token = token
        self._app_id = app_id or ""
        self._crypto = WeChatCrypto(token, aes_key, self._app_id) if aes_key else None

    @property
    def safe_mode(self) -> bool:
        """True when an EncodingAESKey is configured."""
        return self._crypto is not None

    def check(self, params: Mapping[str, str]) -> None:
        """Check ``signature`` over token, timestamp and nonce; raise :class:`BadSignature`."""
        self._compare(params.get("signature", ""), params)

    def echo(self, params: Mapping[str, str]) -> str:
        """URL verification: the ``echostr`` to send back (decrypted when it is encrypted)."""
        if self._crypto is not None and "msg_signature" in params:
            return self.decrypt(params.get("echostr", ""), params)
        self.check(params)
        return params.get("echostr", "")

    def decrypt(self, encrypted: str, params: Mapping[str, str]) -> str:
        """The plaintext of a safe-mode payload, after checking ``msg_signature``."""
        if self._crypto is None:
            raise BadPayload("encrypted message but no EncodingAESKey configured")
        self._compare(params.get("msg_signature", ""), params, encrypted)
        try:
            return _text(PrpCrypto(self._crypto.key).decrypt(encrypted, self._app_id))
        except (InvalidAppIdException, ValueError, IndexError, struct.error) as exc:
            raise BadPayload(f"cannot decrypt: {exc!r}") from None

    def encrypt(self, xml: str, nonce: str) -> str:
        """A passive reply wrapped for safe mode (encrypted and signed)."""
        if self._crypto is None:
            raise BadPayload("no EncodingAESKey configured")
        return _text(self._crypto.encrypt_message(xml, nonce, str(int(time.time()))))

    def _compare(self, signature: str, params: Mapping[str, str], *payload: str) -> None:
        expected = sign(self.token, params.get("timestamp", ""), params.get("nonce", ""), *payload)
        if not secrets.compare_digest(expected, signature):
            raise BadSignature()


def _text(value: object) -> str:
    """A wechatpy result that is text (wechatpy has no type information; it returns ``str``)."""
    if not isinstance(value, str):
        raise BadPayload(f"wechatpy returned {type(value).__name__}, not text")
    return value
