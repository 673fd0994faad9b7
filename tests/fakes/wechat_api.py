"""A local fake of the WeChat API (token, custom and template messages) on 127.0.0.1.

It records every request, issues numbered tokens, and can be told to answer the
next calls to an endpoint with an error code (45015, 45047, 40001, ...).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CUSTOM_SEND = "message/custom/send"
TEMPLATE_SEND = "message/template/send"
TOKEN_ENDPOINT = "token"


@dataclass(frozen=True)
class Recorded:
    """One request the fake received: endpoint (after ``/cgi-bin/``), query, JSON body."""

    endpoint: str
    params: dict[str, str]
    body: dict[str, Any]


class FakeWeChatApi:
    """Start with :meth:`start`; point ``SHOPBOT_WECHAT_API_BASE_URL`` at :attr:`base_url`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.reset()

    @property
    def base_url(self) -> str:
        """The API base URL, with a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> FakeWeChatApi:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget requests, planned errors and tokens."""
        with self._lock:
            self._requests: list[Recorded] = []
            self._errors: dict[str, deque[int]] = defaultdict(deque)
            self._tokens_issued = 0
            self._valid_tokens: set[str] = set()
            self._next_msgid = 1000

    def fail_next(self, endpoint: str, errcode: int, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``endpoint`` with ``errcode``."""
        with self._lock:
            self._errors[endpoint].extend([errcode] * times)

    def revoke_tokens(self) -> None:
        """Make every issued token invalid (as if another process refreshed it)."""
        with self._lock:
            self._valid_tokens.clear()

    def requests(self, endpoint: str | None = None) -> list[Recorded]:
        """Requests received, optionally only those to ``endpoint``."""
        with self._lock:
            return [r for r in self._requests if endpoint is None or r.endpoint == endpoint]

    @property
    def tokens_issued(self) -> int:
        """How many tokens were fetched."""
        return self._tokens_issued

    def _answer(self, recorded: Recorded) -> dict[str, Any]:
        with self._lock:
            self._requests.append(recorded)
            if recorded.endpoint == TOKEN_ENDPOINT:
                self._tokens_issued += 1
                token = f"TOKEN{self._tokens_issued}"
                self._valid_tokens.add(token)
                return {"access_token": token, "expires_in": 7200}
            if recorded.params.get("access_token") not in self._valid_tokens:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            planned = self._errors[recorded.endpoint]
            if planned:
                code = planned.popleft()
                return {"errcode": code, "errmsg": f"fake error {code}"}
            if recorded.endpoint == TEMPLATE_SEND:
                self._next_msgid += 1
                return {"errcode": 0, "errmsg": "ok", "msgid": self._next_msgid}
            return {"errcode": 0, "errmsg": "ok"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._respond({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length) if length else b"{}"
                self._respond(json.loads(raw.decode("utf-8")))

            def _respond(self, body: dict[str, Any]) -> None:
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                endpoint = url.path.removeprefix("/cgi-bin/")
                answer = fake._answer(Recorded(endpoint, params, body))
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
