"""The telegram-test-api emulator (npm), and a test-only proxy that smooths its quirks.

The emulator (``tests/fakes/telegram``, installed by ``make test``) plays Telegram: tests
write as users through its client API (``/sendMessage``, ``/sendCommand``,
``/sendCallback``) and read what the bot sent (``/getUpdates`` with ``token`` and
``chatId``). The bot talks to :class:`QuirksProxy`, which forwards to the emulator and
fixes what python-telegram-bot >= 20 cannot read:

- ``getMe`` has no ``is_bot``: added;
- ``sendMessage`` answers ``date`` in milliseconds: turned into seconds;
- ``getUpdates`` ignores ``offset`` and ``timeout`` (and marks updates read at once): the
  proxy keeps fetched updates until an ``offset`` passes them and holds the request until
  an update comes or ``timeout`` runs out;
- callback queries lack ``chat_instance`` and their message lacks ``message_id``/``date``;
- ``setMyCommands`` is unknown to it: the proxy records the calls and answers ``true``.

None of this is in the product: the bot only sees a Bot API at its base URL.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from fakes.servers import ThreadedServer, bot_api_params
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from support import free_port

EMULATOR_DIR = Path(__file__).resolve().parent / "telegram"
STARTUP_TIMEOUT_S = 20.0
POLL_INTERVAL_S = 0.05


class TelegramEmulator:
    """The node process serving telegram-test-api on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> TelegramEmulator:
        """Start node and wait for "ready"."""
        if not (EMULATOR_DIR / "node_modules" / "telegram-test-api").is_dir():
            raise RuntimeError(
                "telegram-test-api is not installed: run `make test` "
                "(or `npm ci --prefix tests/fakes/telegram`)"
            )
        self._process = subprocess.Popen(
            ["node", "start.js", str(self.port)],
            cwd=EMULATOR_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # blocks until node prints "ready" or dies
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"telegram-test-api did not start: {line!r}")
        return self

    def stop(self) -> None:
        """Stop node and close its output pipe."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


class QuirksProxy:
    """A Bot API for python-telegram-bot in front of the emulator (see the module docstring)."""

    def __init__(self, emulator_url: str) -> None:
        self.emulator_url = emulator_url
        self.commands: list[dict[str, Any]] = []
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._server: ThreadedServer | None = None

    @property
    def base_url(self) -> str:
        """What ``SHOPBOT_TELEGRAM_BASE_URL`` should be."""
        assert self._server is not None, "start() the proxy first"
        return f"{self._server.url}/bot"

    def start(self) -> QuirksProxy:
        """Serve on a free port in a background thread."""
        route = Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])
        self._server = ThreadedServer(Starlette(routes=[route])).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.stop()

    async def _endpoint(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        match method:
            case "getUpdates":
                params = await bot_api_params(request)
                return _ok(await self._get_updates(token, params, request))
            case "setMyCommands" | "deleteMyCommands":
                params = await bot_api_params(request)
                self.commands.append({"token": token, "method": method, **params})
                return _ok(True)
        answer = await self._forward(token, method, request)
        match method, answer:
            case "getMe", {"result": dict() as me}:
                me.setdefault("is_bot", True)
            case "sendMessage", {"result": {"date": int() as date} as sent}:
                sent["date"] = date // 1000 if date > 10**11 else date
            case "answerCallbackQuery", {"ok": True}:
                answer["result"] = True
        return JSONResponse(answer)

    async def _forward(self, token: str, method: str, request: Request) -> dict[str, Any]:
        headers = {"content-type": request.headers.get("content-type", "application/json")}
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"{self.emulator_url}/bot{token}/{method}",
                content=await request.body(),
                headers=headers,
            )
        return response.json()

    async def _get_updates(
        self, token: str, params: dict[str, Any], request: Request
    ) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        buffer = self._buffers.setdefault(token, [])
        while True:
            answer = await self._fetch(token)
            buffer.extend(_fixed_update(update) for update in answer.get("result", []))
            buffer[:] = [u for u in buffer if u["update_id"] >= offset]
            if buffer or time.monotonic() >= deadline or await request.is_disconnected():
                return buffer[:limit]
            await asyncio.sleep(POLL_INTERVAL_S)  # the emulator cannot hold a request open

    async def _fetch(self, token: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{self.emulator_url}/bot{token}/getUpdates")
        return response.json()


def _fixed_update(update: dict[str, Any]) -> dict[str, Any]:
    query = update.get("callback_query")
    if query is not None:
        query.setdefault("chat_instance", str(query["from"]["id"]))
        message = query.get("message")
        if message is not None:
            message.setdefault("message_id", 1)
            message.setdefault("date", int(time.time()))
    return update


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


_user_ids = itertools.count(7001)


class EmulatorUser:
    """A Telegram user writing to the bot through the emulator's client API."""

    def __init__(
        self,
        emulator_url: str,
        token: str,
        *,
        language_code: str = "en",
        user_id: int | None = None,
        chat: dict[str, Any] | None = None,
    ) -> None:
        self.emulator_url = emulator_url
        self.token = token
        self.id = user_id or next(_user_ids)
        self.user = {"id": self.id, "is_bot": False, "first_name": f"User{self.id}"}
        self.user["language_code"] = language_code
        self.chat = chat or {"id": self.id, "type": "private", "first_name": f"User{self.id}"}

    async def say(self, text: str) -> None:
        """Send a text message."""
        await self._post("/sendMessage", self._message(text))

    async def command(self, text: str) -> None:
        """Send ``/command args`` (with its bot_command entity)."""
        head = text.split(" ", 1)[0]
        entities = [{"offset": 0, "length": len(head), "type": "bot_command"}]
        await self._post("/sendCommand", self._message(text) | {"entities": entities})

    async def send_photo(self, caption: str = "") -> None:
        """Send a photo (the emulator stores it like any message)."""
        photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}]
        message = self._message("") | {"photo": photo, "caption": caption}
        del message["text"]
        await self._post("/sendMessage", message)

    async def press(self, data: str) -> None:
        """Press an inline button whose callback data is ``data``."""
        message = {"from": {"id": 1, "is_bot": True, "first_name": "Bot"}, "chat": self.chat}
        query = {"botToken": self.token, "from": self.user, "message": message, "data": data}
        await self._post("/sendCallback", query)

    async def replies(self, count: int = 1, deadline_s: float = 20.0) -> list[dict[str, Any]]:
        """Wait for ``count`` messages from the bot to this chat; returns them (oldest first)."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + deadline_s
        while len(got) < count:
            answer = await self._post(
                "/getUpdates", {"token": self.token, "chatId": self.chat["id"]}
            )
            got += [item["message"] for item in answer["result"]]
            if len(got) >= count:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot sent {len(got)} of {count} messages: {got}")
            await asyncio.sleep(POLL_INTERVAL_S)  # the bot answers asynchronously
        return got

    def _message(self, text: str) -> dict[str, Any]:
        return {
            "botToken": self.token,
            "from": self.user,
            "chat": self.chat,
            "date": int(time.time()),
            "text": text,
        }

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{self.emulator_url}{path}", json=body)
        response.raise_for_status()
        return response.json()
