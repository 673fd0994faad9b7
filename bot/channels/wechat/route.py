"""``GET /wechat`` (URL verification) and ``POST /wechat`` (messages and events).

Order of checks on a POST: the query signature (403), the body size (413), the
XML itself (400: malformed, DTD or entities), in safe mode ``msg_signature`` and
decryption (403 / 400), then parsing. Only then is anything stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

import xmltodict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.replies import TextReply

from bot.channels.wechat.crypto import BadPayload, BadSignature, Verifier
from bot.channels.wechat.inbound import InboundProcessor
from bot.channels.wechat.parsing import Parsed, parse
from bot.channels.wechat.xmlsafe import MAX_BODY_BYTES, UnsafeXml, check_xml
from bot.dispatcher import StorageUnavailable

log = logging.getLogger(__name__)

PATH = "/wechat"


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
        processor: InboundProcessor,
        menu: Mapping[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self._verifier = verifier
        self._processor = processor
        self._menu = dict(menu)
        self._clock = clock

    def routes(self) -> list[Route]:
        """The two routes on ``/wechat``."""
        return [
            Route(PATH, self.verify_url, methods=["GET"]),
            Route(PATH, self.receive, methods=["POST"]),
        ]

    async def verify_url(self, request: Request) -> Response:
        """WeChat's server check: echo ``echostr`` when the signature is ours."""
        try:
            return PlainTextResponse(self._verifier.echo(request.query_params))
        except BadSignature:
            return _refusal(_Refused(403, "bad signature"))
        except BadPayload as exc:
            return _refusal(_Refused(400, str(exc)))

    async def receive(self, request: Request) -> Response:
        """A message or event: the passive reply, ``success``, or an error status."""
        started = asyncio.get_running_loop().time()
        params = request.query_params
        encrypted = params.get("encrypt_type") == "aes"
        try:
            self._authenticate(params, encrypted)
            body = await _read_body(request)
            parsed = self._parse(body, params, encrypted)
        except _Refused as refused:
            return _refusal(refused)
        try:
            answer = await self._processor.answer(parsed, started)
        except StorageUnavailable as exc:
            log.warning(
                "Redis unavailable, WeChat will retry message %s: %s", parsed.message.id, exc
            )
            return PlainTextResponse("storage unavailable", status_code=503)
        if answer is None:
            return PlainTextResponse("success")
        return self._passive(parsed, answer, params.get("nonce", ""), encrypted)

    def _authenticate(self, params: Mapping[str, str], encrypted: bool) -> None:
        if "signature" not in params and not encrypted:
            raise _Refused(403, "no signature")
        if "signature" in params:
            try:
                self._verifier.check(params)
            except BadSignature:
                raise _Refused(403, "bad signature") from None

    def _parse(self, body: bytes, params: Mapping[str, str], encrypted: bool) -> Parsed:
        try:
            xml = check_xml(body)
            if encrypted:
                xml = check_xml(self._verifier.decrypt(_encrypted_part(xml), params))
            return parse(xml, self._menu, self._clock())
        except BadSignature:
            raise _Refused(403, "bad msg_signature") from None
        except (UnsafeXml, BadPayload, UnicodeDecodeError) as exc:
            raise _Refused(400, str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _Refused(400, f"not a WeChat message: {exc!r}") from None

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
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _Refused(413, "body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _Refused(413, "body too large")
    return bytes(body)


def _refusal(refused: _Refused) -> Response:
    log.info("WeChat request refused (%s): %s", refused.status, refused)
    return PlainTextResponse(str(refused), status_code=refused.status)
