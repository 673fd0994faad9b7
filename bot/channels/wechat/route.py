"""``GET /wechat`` (URL verification) and ``POST /wechat`` (messages and events).

Order of checks on a POST: the query signature and the timestamp's freshness
(403; with an EncodingAESKey configured, only ``encrypt_type=aes`` is accepted),
the body size (413), the XML itself (400: malformed, DTD or entities), in safe
mode ``msg_signature`` and decryption (403 / 400), then parsing. In plaintext
mode the signed URL is then bound to its body (:mod:`storage.wechat_requests`):
the same URL with another body is 403. Only then is anything stored.

Error bodies and log lines say what was wrong in general terms: never the
query string (it holds the signature and the sender's openid), never parser
internals or message contents.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

import xmltodict
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.replies import TextReply

from bot.bodies import BodyTooLarge, read_limited
from bot.channels.wechat.crypto import (
    MAX_SKEW_S,
    BadPayload,
    BadSignature,
    StaleRequest,
    Verifier,
    check_fresh,
)
from bot.channels.wechat.parsing import Handling, Parsed, parse
from bot.channels.wechat.xmlsafe import MAX_BODY_BYTES, UnsafeXml, check_xml
from storage import wechat_requests
from storage.batch import Coalescer
from storage.timestamps import Clock

log = logging.getLogger(__name__)

PATH = "/wechat"
SIGNED_URL_TTL_S = 2 * MAX_SKEW_S + 60
"""How long a signed URL stays bound to its body: past the end of its freshness window."""
_ANSWERS = {400: "bad request", 403: "forbidden", 413: "body too large"}

Accept = Callable[[Parsed, float], Awaitable[str | None]]
"""The channel's entry for a verified, parsed request and its arrival (loop time):
the passive answer, or None for ``success``."""


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class WeChatEndpoint:
    """The HTTP side of the channel."""

    def __init__(
        self,
        *,
        verifier: Verifier,
        accept: Accept,
        redis: Redis,
        menu: Mapping[str, str],
        clock: Clock,
    ) -> None:
        self._verifier = verifier
        self._accept = accept
        self._binds = Coalescer(redis)
        self._menu = dict(menu)
        self._clock = clock

    def routes(self) -> list[Route]:
        """The two routes on ``/wechat``."""
        return [
            Route(PATH, self.verify_url, methods=["GET"]),
            Route(PATH, self.receive, methods=["POST"]),
        ]

    async def verify_url(self, request: Request) -> Response:
        """WeChat's server check: echo ``echostr`` when the signature is ours and fresh."""
        params = request.query_params
        try:
            check_fresh(params, self._clock())
            return PlainTextResponse(self._verifier.echo(params))
        except StaleRequest:
            return _refusal(_Refused(403, "stale or missing timestamp"))
        except BadSignature:
            return _refusal(_Refused(403, "bad signature"))
        except BadPayload:
            return _refusal(_Refused(400, "unreadable echostr"))

    async def receive(self, request: Request) -> Response:
        """A message or event: the passive reply, ``success``, or an error status."""
        started = asyncio.get_running_loop().time()
        params = request.query_params
        encrypted = params.get("encrypt_type") == "aes"
        try:
            self._authenticate(params, encrypted)
            body = await _read_body(request)
            parsed = self._parse(body, params, encrypted)
            if not encrypted and parsed.handling is not Handling.IGNORE:
                await self._bind(params, body)
            answer = await self._accept(parsed, started)
        except _Refused as refused:
            return _refusal(refused)
        except RedisError as exc:  # StorageUnavailable and any other Redis failure
            log.warning("Redis unavailable, WeChat will retry: %s", exc)
            return PlainTextResponse("storage unavailable", status_code=503)
        if answer is None:
            return PlainTextResponse("success")
        return self._passive(parsed, answer, params.get("nonce", ""), encrypted)

    def _authenticate(self, params: Mapping[str, str], encrypted: bool) -> None:
        if encrypted != self._verifier.safe_mode:
            raise _Refused(403, "encrypt_type does not match the configured mode")
        if "signature" not in params and not encrypted:
            raise _Refused(403, "no signature")
        if "signature" in params:
            try:
                self._verifier.check(params)
            except BadSignature:
                raise _Refused(403, "bad signature") from None
        try:
            check_fresh(params, self._clock())
        except StaleRequest:
            raise _Refused(403, "stale or missing timestamp") from None

    async def _bind(self, params: Mapping[str, str], body: bytes) -> None:
        """Refuse a signed plaintext URL reused with another body (see the module docstring)."""
        timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
        fresh = await self._binds.run(
            lambda pipe: (
                wechat_requests.queue_bind(pipe, timestamp, nonce, body, SIGNED_URL_TTL_S).result
            )
        )
        if not fresh:
            raise _Refused(403, "signed URL reused with another body")

    def _parse(self, body: bytes, params: Mapping[str, str], encrypted: bool) -> Parsed:
        try:
            xml = check_xml(body)
            if encrypted:
                xml = check_xml(self._verifier.decrypt(_encrypted_part(xml), params))
            return parse(xml, self._menu, self._clock())
        except BadSignature:
            raise _Refused(403, "bad msg_signature") from None
        except (UnsafeXml, BadPayload, UnicodeDecodeError) as exc:
            raise _Refused(400, f"unreadable body ({type(exc).__name__})") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Refused(400, f"not a WeChat message ({type(exc).__name__})") from None

    def _passive(self, parsed: Parsed, text: str, nonce: str, encrypted: bool) -> Response:
        reply = TextReply(
            source=parsed.account,
            target=parsed.message.contact.external_id,
            content=text,
            time=int(time.time()),
        ).render()
        if encrypted:
            reply = self._verifier.encrypt(reply, nonce)
        return Response(reply, media_type="application/xml")


def _encrypted_part(xml: str) -> str:
    envelope = xmltodict.parse(xml, disable_entities=True).get("xml") or {}
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise BadPayload("safe-mode message without <Encrypt>")
    return encrypted


async def _read_body(request: Request) -> bytes:
    try:
        return await read_limited(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        raise _Refused(413, "body too large") from None


def _refusal(refused: _Refused) -> Response:
    log.info("WeChat request refused (%s): %s", refused.status, refused)
    return PlainTextResponse(_ANSWERS[refused.status], status_code=refused.status)
