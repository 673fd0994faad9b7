"""A local fake of the WeChat API (token, messages, media upload, user tags) on 127.0.0.1.

It records every request, issues numbered tokens, and can be told to answer the
next calls to an endpoint with an error code (45015, 45047, 40001, ...). User
tags (``tags/...``) keep state and enforce WeChat's limits with its error codes.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CUSTOM_SEND = "message/custom/send"
TEMPLATE_SEND = "message/template/send"
MEDIA_UPLOAD = "media/upload"
TOKEN_ENDPOINT = "token"
TAGS_CREATE = "tags/create"
TAGS_GET = "tags/get"
TAGS_TAG = "tags/members/batchtagging"
TAGS_UNTAG = "tags/members/batchuntagging"
TAGS_OF_USER = "tags/getidlist"

ACCOUNT_TAG_LIMIT = 100
USER_TAG_LIMIT = 20
OPENIDS_PER_CALL = 50
NAME_LIMIT_BYTES = 30
FIRST_TAG_ID = 100
SYSTEM_TAGS = {2: "星标组"}  # every account has it; it does not count against the 100
# WeChat's error codes for the tag API.
TAG_NAME_EXISTS = 45157
TAG_NAME_TOO_LONG = 45158
TOO_MANY_TAGS = 45056
USER_HAS_TOO_MANY_TAGS = 45059
INVALID_TAG_ID = 45159
INVALID_OPENID_LIST_SIZE = 40032


@dataclass(frozen=True)
class Recorded:
    """One request the fake received: endpoint (after ``/cgi-bin/``), query, JSON body."""

    endpoint: str
    params: dict[str, str]
    body: dict[str, Any]
    upload: bytes = b""
    """The raw multipart body of a ``media/upload``."""


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
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget requests, planned errors, held endpoints and tokens."""
        with self._lock:
            self._requests: list[Recorded] = []
            self._errors: dict[str, deque[int]] = defaultdict(deque)
            self._http_errors: dict[str, deque[int]] = defaultdict(deque)
            self._tokens_issued = 0
            self._valid_tokens: set[str] = set()
            self._next_msgid = 1000
            self._tags: dict[int, str] = dict(SYSTEM_TAGS)
            self._next_tag_id = FIRST_TAG_ID
            self._user_tags: dict[str, set[int]] = defaultdict(set)
            self._uploads = 0
            self._held: set[str] = set()
            if hasattr(self, "_release"):
                self._release.set()  # let calls held by an earlier test finish
            self._release = threading.Event()

    def fail_next(self, endpoint: str, errcode: int, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``endpoint`` with ``errcode``."""
        with self._lock:
            self._errors[endpoint].extend([errcode] * times)

    def fail_http_next(self, endpoint: str, status: int, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``endpoint`` (``token`` too) with HTTP ``status``."""
        with self._lock:
            self._http_errors[endpoint].extend([status] * times)

    def _http_error(self, recorded: Recorded) -> int | None:
        """The planned HTTP error status for this request, if any (the request is recorded)."""
        with self._lock:
            planned = self._http_errors[recorded.endpoint]
            if not planned:
                return None
            self._requests.append(recorded)
            return planned.popleft()

    def hold(self, endpoint: str) -> None:
        """Carry out calls to ``endpoint`` but answer none until :meth:`release` (a timeout)."""
        with self._lock:
            self._held.add(endpoint)
            self._release.clear()

    def release(self) -> None:
        """Let held calls answer (they were carried out when they came in)."""
        with self._lock:
            self._held.clear()
            self._release.set()

    def revoke_tokens(self) -> None:
        """Make every issued token invalid (as if another process refreshed it)."""
        with self._lock:
            self._valid_tokens.clear()

    def requests(self, endpoint: str | None = None) -> list[Recorded]:
        """Requests received, optionally only those to ``endpoint``."""
        with self._lock:
            return [r for r in self._requests if endpoint is None or r.endpoint == endpoint]

    def add_tag(self, name: str) -> int:
        """Create a tag as if in the back office; returns its id."""
        with self._lock:
            return self._create_tag(name)["tag"]["id"]

    def delete_tag(self, name: str) -> None:
        """Delete a tag as if in the back office (users lose it)."""
        with self._lock:
            tag_id = next(i for i, n in self._tags.items() if n == name)
            del self._tags[tag_id]
            for tags in self._user_tags.values():
                tags.discard(tag_id)

    def tag_user_directly(self, openid: str, *names: str) -> None:
        """Put existing tags on a user as if in the back office."""
        with self._lock:
            ids = {i for i, n in self._tags.items() if n in names}
            self._user_tags[openid] |= ids

    def tags(self) -> dict[str, int]:
        """The account's tags: name -> id (system tags included)."""
        with self._lock:
            return {name: tag_id for tag_id, name in self._tags.items()}

    def user_tags(self, openid: str) -> set[str]:
        """The names of the tags a user carries."""
        with self._lock:
            return {self._tags[tag_id] for tag_id in self._user_tags[openid]}

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
            if recorded.endpoint == MEDIA_UPLOAD:
                self._uploads += 1
                media_id = f"UPLOADED{self._uploads}"
                return {"type": recorded.params.get("type"), "media_id": media_id, "created_at": 1}
            if recorded.endpoint == TEMPLATE_SEND:
                self._next_msgid += 1
                return {"errcode": 0, "errmsg": "ok", "msgid": self._next_msgid}
            return self._tag_answer(recorded) or {"errcode": 0, "errmsg": "ok"}

    def _tag_answer(self, recorded: Recorded) -> dict[str, Any] | None:
        body = recorded.body
        answers: dict[str, Callable[[], dict[str, Any]]] = {
            TAGS_CREATE: lambda: self._create_tag(body["tag"]["name"]),
            TAGS_GET: self._list_tags,
            TAGS_TAG: lambda: self._tag_users(body["tagid"], body["openid_list"], add=True),
            TAGS_UNTAG: lambda: self._tag_users(body["tagid"], body["openid_list"], add=False),
            TAGS_OF_USER: lambda: {"tagid_list": sorted(self._user_tags[body["openid"]])},
        }
        answer = answers.get(recorded.endpoint)
        return answer() if answer else None

    def _list_tags(self) -> dict[str, Any]:
        counts = {i: sum(i in tags for tags in self._user_tags.values()) for i in self._tags}
        return {"tags": [{"id": i, "name": n, "count": counts[i]} for i, n in self._tags.items()]}

    def _create_tag(self, name: str) -> dict[str, Any]:
        if name in self._tags.values():
            return _error(TAG_NAME_EXISTS, "tag name already exists")
        if len(name.encode("utf-8")) > NAME_LIMIT_BYTES:
            return _error(TAG_NAME_TOO_LONG, "tag name too long")
        if len(self._tags) - len(SYSTEM_TAGS) >= ACCOUNT_TAG_LIMIT:
            return _error(TOO_MANY_TAGS, "too many tags")
        self._next_tag_id += 1
        self._tags[self._next_tag_id] = name
        return {"tag": {"id": self._next_tag_id, "name": name}}

    def _tag_users(self, tag_id: int, openids: list[str], *, add: bool) -> dict[str, Any]:
        if tag_id not in self._tags:
            return _error(INVALID_TAG_ID, "invalid tag id")
        if not 0 < len(openids) <= OPENIDS_PER_CALL:
            return _error(INVALID_OPENID_LIST_SIZE, "invalid openid list size")
        if add and any(
            tag_id not in self._user_tags[o] and len(self._user_tags[o]) >= USER_TAG_LIMIT
            for o in openids
        ):
            return _error(USER_HAS_TOO_MANY_TAGS, "user has too many tags")
        for openid in openids:
            if add:
                self._user_tags[openid].add(tag_id)
            else:
                self._user_tags[openid].discard(tag_id)
        return {"errcode": 0, "errmsg": "ok"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._respond({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length) if length else b"{}"
                if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
                    self._respond({}, upload=raw)
                else:
                    self._respond(json.loads(raw.decode("utf-8")))

            def _respond(self, body: dict[str, Any], upload: bytes = b"") -> None:
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                endpoint = url.path.removeprefix("/cgi-bin/")
                recorded = Recorded(endpoint, params, body, upload)
                status = fake._http_error(recorded)
                if status is not None:
                    self.send_error(status)
                    return
                answer = fake._answer(recorded)
                with fake._lock:
                    held, release = endpoint in fake._held, fake._release
                if held:
                    release.wait()
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _error(code: int, message: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": message}
