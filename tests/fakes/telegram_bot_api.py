"""A fake Telegram Bot API that enforces the flood limits, for the sender's tests and bench.

Limits, checked when a ``sendMessage`` arrives (by the server's own clock):
- at most 30 messages in any 1-second window, over all chats;
- per chat, a token bucket of 1 message/s holding at most 3 (short bursts);
- per group chat (negative id), at most 20 messages in any 60-second window.
Over a limit the answer is 429 with ``parameters.retry_after`` (whole seconds, as Telegram does).
Chats in ``blocked`` answer 403. ``fail_next`` scripts the next answers (502, 429, ...).
``push_update`` queues updates for ``getUpdates``, which honours ``offset`` and ``timeout``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fakes.servers import ThreadedServer, bot_api_params
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "4242:FAKE-TOKEN"
GIL_SWITCH_INTERVAL_S = 0.0005
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Shop", "username": "ShopTestBot"}


@dataclass(frozen=True)
class FakeLimits:
    """The limits the fake enforces (Telegram's published figures by default)."""

    global_per_s: int = 30
    chat_rate: float = 1.0
    chat_burst: int = 3
    group_per_min: int = 20


@dataclass(frozen=True)
class Delivered:
    """A message the fake accepted."""

    chat_id: str
    text: str
    reply_markup: Any
    at: float


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class FakeBotApi:
    """The fake's state; ``start()`` serves it on a loopback port (``base_url`` for the Bot)."""

    limits: FakeLimits = field(default_factory=FakeLimits)
    enforce: bool = True
    blocked: set[str] = field(default_factory=set)
    delivered: list[Delivered] = field(default_factory=list)
    photos: list[tuple[str, bytes | str]] = field(default_factory=list)
    """``(chat_id, file bytes or file_id)`` of every sendPhoto."""
    media: list[tuple[str, str, str]] = field(default_factory=list)
    """``(method, chat_id, file_id)`` of every sendVoice, sendVideo and sendDocument."""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    http_429s: int = 0
    refusals: list[str] = field(default_factory=list)
    """Which limit each 429 enforced (``global``, ``chat``, ``group``, ``scripted``)."""
    scripted: deque[tuple[int, int]] = field(default_factory=deque)
    updates: list[dict[str, Any]] = field(default_factory=list)
    answering: threading.Event = field(default_factory=threading.Event)
    """Cleared by :meth:`hold_answers`."""

    def __post_init__(self) -> None:
        self.answering.set()
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._chat_buckets: dict[str, _Bucket] = {}
        self._group_recent: dict[str, deque[float]] = {}
        self._message_ids = itertools.count(1)
        self._server: ThreadedServer | None = None
        self.confirmed_offset = 0

    @property
    def base_url(self) -> str:
        """What ``SHOPBOT_TELEGRAM_BASE_URL`` should be."""
        assert self._server is not None, "start() the fake first"
        return f"{self._server.url}/bot"

    def start(self) -> FakeBotApi:
        """Serve on a free port in a background thread.

        The fake shares the process (and the GIL) with the code under test. With the
        default 5 ms GIL switch interval its thread can fall behind and then time a
        batch of requests at once, as if they had arrived together; a short interval
        keeps its arrival times close to when the requests were sent.
        """
        routes = [Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        self._server = ThreadedServer(Starlette(routes=routes)).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.answering.set()
        if self._server is not None:
            self._server.stop()
            sys.setswitchinterval(self._switch_interval)

    def reset(self) -> None:
        """Forget deliveries, calls, limits state and scripts (between tests)."""
        with self._lock:
            self.blocked.clear()
            self.delivered.clear()
            self.photos.clear()
            self.media.clear()
            self.calls.clear()
            self.scripted.clear()
            self.updates.clear()
            self.http_429s = 0
            self.refusals.clear()
            self.enforce = True
            self.answering.set()
            self._recent.clear()
            self._chat_buckets.clear()
            self._group_recent.clear()

    def hold_answers(self) -> None:
        """Deliver sendMessage calls but answer none until :meth:`release_answers`."""
        self.answering.clear()

    def release_answers(self) -> None:
        """Answer the held sendMessage calls."""
        self.answering.set()

    def fail_next(self, status: int, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` sendMessage calls with ``status`` (429: ``retry_after``)."""
        with self._lock:
            self.scripted.extend([(status, retry_after)] * times)

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for ``getUpdates``."""
        with self._lock:
            self.updates.append(update)

    def texts_to(self, chat_id: str | int) -> list[str]:
        """Texts delivered to one chat, in arrival order."""
        return [d.text for d in self.delivered if d.chat_id == str(chat_id)]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call to ``method``."""
        return [params for name, params in self.calls if name == method]

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != TOKEN:
            return _fail(401, "Unauthorized")
        method = request.path_params["method"]
        params = await bot_api_params(request)
        with self._lock:
            self.calls.append((method, params))
        match method:
            case "getMe":
                return _ok(BOT_USER)
            case "sendMessage":
                answer = self._send_message(params)
                if not self.answering.is_set():  # delivered; the answer waits (a timeout)
                    await asyncio.to_thread(self.answering.wait)
                return answer
            case "sendPhoto":
                return self._send_photo(params)
            case "sendVoice" | "sendVideo" | "sendDocument":
                return self._send_media(method, params)
            case "getUpdates":
                return await self._get_updates(params)
            case _:
                return _ok(True)

    def _send_message(self, params: dict[str, Any]) -> JSONResponse:
        chat_id = str(params["chat_id"])
        now = time.monotonic()
        with self._lock:
            if self.scripted:
                status, retry_after = self.scripted.popleft()
                return self._scripted(status, retry_after)
            if chat_id in self.blocked:
                return _fail(403, "Forbidden: bot was blocked by the user")
            limit, wait = self._flood_wait(chat_id, now) if self.enforce else ("", 0.0)
            if wait > 0:
                self.http_429s += 1
                self.refusals.append(limit)
                return _too_many(math.ceil(wait))
            self._record(chat_id, now)
            self.delivered.append(
                Delivered(chat_id, params["text"], params.get("reply_markup"), now)
            )
            message_id = next(self._message_ids)
        return _ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {
                    "id": int(chat_id),
                    "type": "group" if chat_id.startswith("-") else "private",
                },
                "from": BOT_USER,
                "text": params["text"],
            }
        )

    def _send_photo(self, params: dict[str, Any]) -> JSONResponse:
        chat_id = str(params["chat_id"])
        with self._lock:
            self.photos.append((chat_id, params["photo"]))
            message_id = next(self._message_ids)
        chat = {"id": int(chat_id), "type": "private"}
        return _ok({"message_id": message_id, "date": int(time.time()), "chat": chat})

    def _send_media(self, method: str, params: dict[str, Any]) -> JSONResponse:
        chat_id = str(params["chat_id"])
        field_name = method.removeprefix("send").lower()
        with self._lock:
            self.media.append((method, chat_id, str(params[field_name])))
            message_id = next(self._message_ids)
        chat = {"id": int(chat_id), "type": "private"}
        return _ok({"message_id": message_id, "date": int(time.time()), "chat": chat})

    def _scripted(self, status: int, retry_after: int) -> JSONResponse:
        if status == 429:
            self.http_429s += 1
            self.refusals.append("scripted")
            return _too_many(retry_after)
        return _fail(status, f"scripted failure {status}")

    def _flood_wait(self, chat_id: str, now: float) -> tuple[str, float]:
        """The limit this message breaks and the seconds until it would not (0 = allowed)."""
        waits = [("", 0.0)]
        recent = self._recent
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= self.limits.global_per_s:
            waits.append(("global", recent[0] + 1.0 - now))
        bucket = self._chat_bucket(chat_id, now)
        if bucket.tokens < 1.0:
            waits.append(("chat", (1.0 - bucket.tokens) / self.limits.chat_rate))
        if chat_id.startswith("-"):
            group = self._group_recent.setdefault(chat_id, deque())
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= self.limits.group_per_min:
                waits.append(("group", group[0] + 60.0 - now))
        return max(waits, key=lambda item: item[1])

    def _chat_bucket(self, chat_id: str, now: float) -> _Bucket:
        burst = float(self.limits.chat_burst)
        bucket = self._chat_buckets.setdefault(chat_id, _Bucket(burst, now))
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * self.limits.chat_rate)
        bucket.updated = now
        return bucket

    def _record(self, chat_id: str, now: float) -> None:
        self._recent.append(now)
        self._chat_bucket(chat_id, now).tokens -= 1.0
        if chat_id.startswith("-"):
            self._group_recent.setdefault(chat_id, deque()).append(now)

    async def _get_updates(self, params: dict[str, Any]) -> JSONResponse:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            with self._lock:
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                if self.updates or time.monotonic() >= deadline:
                    return _ok(list(self.updates))
            await asyncio.sleep(0.01)  # long polling: the fake checks its queue every 10 ms


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _fail(status: int, description: str) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error_code": status, "description": description}, status_code=status
    )


def _too_many(retry_after: int) -> JSONResponse:
    return JSONResponse(
        {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        },
        status_code=429,
    )
