"""``POST /telegram``: Telegram's webhook, on the bot's own Starlette app.

Verify the secret header first (401), read at most 1 MiB (413), parse (400),
then hand the update to a tracked task and answer as soon as it has been
dispatched (or after a short wait, whichever comes first); replies are sent
after the answer. If Redis is down the answer is 503, so Telegram delivers the
update again later.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, Update

from bot.bodies import MAX_JSON_BODY_BYTES, BodyTooLarge, read_limited
from bot.dispatcher import StorageUnavailable

log = logging.getLogger(__name__)

PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
ACK_WAIT_S = 5.0

Process = Callable[[Update], Coroutine[Any, Any, None]]
Track = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


def derived_secret(token: str) -> str:
    """The webhook secret used when none is configured: a hash of the bot token."""
    return hashlib.sha256(f"shopbot-telegram-webhook:{token}".encode()).hexdigest()


class WebhookEndpoint:
    """The webhook route's handler."""

    def __init__(
        self, bot: Bot, secret: str, process: Process, track: Track, *, ack_wait_s: float
    ) -> None:
        self.bot = bot
        self._secret = secret.encode()
        self.process = process
        self.track = track
        self.ack_wait_s = ack_wait_s

    def route(self) -> Route:
        """``POST /telegram``."""
        return Route(PATH, self.receive, methods=["POST"])

    async def receive(self, request: Request) -> Response:
        """Check, parse, dispatch in a tracked task; answer once it is dispatched."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secrets.compare_digest(given, self._secret):
            return _error(401, "wrong secret token")
        try:
            update = self._parse(await read_limited(request, MAX_JSON_BODY_BYTES))
        except BodyTooLarge:
            return _error(413, "body too large")
        if update is None:
            return _error(400, "not a Telegram update")
        task = self.track(self.process(update))
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=self.ack_wait_s)
        except StorageUnavailable:
            return _error(503, "storage unavailable, retry later")
        except TimeoutError:
            log.info("telegram update %s still processing; acknowledged", update.update_id)
        except Exception:  # noqa: S110 - the task's tracker logs it; redelivery would fail the same way
            pass
        return Response(status_code=200)

    def _parse(self, body: bytes) -> Update | None:
        try:
            data = json.loads(body)
            if isinstance(data, dict) and type(data.get("update_id")) is int:
                return Update.de_json(data, self.bot)
        except (KeyError, TypeError, ValueError):  # UnicodeDecodeError is a ValueError
            return None
        return None


def _error(status: int, text: str) -> Response:
    return JSONResponse({"ok": False, "error": text}, status_code=status)
