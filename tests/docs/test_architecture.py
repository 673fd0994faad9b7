"""The message path counted in docs/architecture.md matches the code, and is all of it."""

import ast
import re
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
from fakes.telegram_bot_api import TOKEN, FakeBotApi
from redis.asyncio import Redis
from starlette.applications import Starlette

from bot.app import open_runtime
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram.webhook import SECRET_HEADER
from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
_ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| (\d+) \|$", re.MULTILINE)
_TOTAL = re.compile(r"^\*\*(\d+) lines\*\*", re.MULTILINE)


def function_lines(file: Path, qualname: str) -> int:
    """Lines of a function or method, ``def`` to its last line (decorators not counted)."""
    node: ast.AST = ast.parse(file.read_text(encoding="utf-8"))
    for part in qualname.split("."):
        node = next(
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and child.name == part
        )
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


Function = tuple[str, str]
"""A function of ours: its file (from the repository root) and its qualified name."""

ENTRIES: set[Function] = {
    ("bot/channels/telegram/webhook.py", "WebhookEndpoint.receive"),
    ("bot/channels/telegram/channel.py", "TelegramChannel.accept"),  # the update's task
    ("storage/batch.py", "Coalescer._flush"),  # a round trip's task
    ("bot/channels/telegram/sender.py", "TelegramSender._work"),  # the chat's send worker
    ("bot/channels/tasks.py", "TaskTracker._finished"),  # the update's task ending
}
"""Where the message's code starts with no caller of ours: the webhook and the tasks it starts
(the settling after the send, ``TelegramChannel._settle_replies``, is not counted)."""


def _path_table() -> list[tuple[str, str, int]]:
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("<!-- message-path: start -->")[1].split("<!-- message-path: end -->")[0]
    return [(file, name, int(n)) for file, name, n in _ROW.findall(table)]


def test_each_function_on_the_message_path_has_the_lines_stated() -> None:
    rows = _path_table()
    assert len(rows) > 20
    stated = {(file, name): n for file, name, n in rows}
    actual = {(file, name): function_lines(ROOT / file, name) for file, name, _ in rows}
    assert actual == stated, "docs/architecture.md: the message path table is out of date"


def test_the_stated_total_is_the_sum_of_the_table() -> None:
    total = _TOTAL.search(PAGE.read_text(encoding="utf-8"))
    assert total is not None
    assert int(total.group(1)) == sum(n for _, _, n in _path_table())


def test_function_lines_counts_a_method_from_def_to_its_last_line(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "class A:\n    @staticmethod\n    def f():\n        x = 1\n        return x\n"
    )
    assert function_lines(source, "A.f") == 3


class _CallGraph:
    """Every call between functions of ours while it is entered (``sys.setprofile``)."""

    def __init__(self) -> None:
        self.calls: set[tuple[Function | None, Function]] = set()

    def __enter__(self) -> "_CallGraph":
        sys.setprofile(self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)

    def _record(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or (callee := _ours(frame)) is None:
            return
        caller = frame.f_back  # the nearest frame of ours: library frames in between are skipped
        while caller is not None and _ours(caller) is None:
            if "logging" in Path(caller.f_code.co_filename).parts:
                return  # what logging calls back (formatters, the redaction) is not the path
            caller = caller.f_back
        self.calls.add((None if caller is None else _ours(caller), callee))

    def reached(self) -> set[Function]:
        """What the entries reach, not through a handler; nested functions as the one around."""
        reached = {callee for caller, callee in self.calls if caller is None and callee in ENTRIES}
        while more := {c for a, c in self.calls if a in reached and _counted(c, reached)} - reached:
            reached |= more
        return {(file, name.split(".<locals>")[0]) for file, name in reached}


def _ours(frame: FrameType) -> Function | None:
    path = Path(frame.f_code.co_filename)
    if not path.is_relative_to(ROOT) or path.parts[len(ROOT.parts)] in {"tests", ".venv"}:
        return None
    return path.relative_to(ROOT).as_posix(), frame.f_code.co_qualname


def _counted(function: Function, reached: set[Function]) -> bool:
    """Not a handler (nor what only handlers call); a nested function only in a counted one."""
    file, name = function
    outer = name.split(".<locals>")[0]
    return not file.startswith("handlers/") and (outer == name or (file, outer) in reached)


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    """The fake Bot API on a loopback port, for this module."""
    fake = FakeBotApi().start()
    yield fake
    fake.stop()


@pytest.fixture
async def webhook(
    settings: Settings, bot_api: FakeBotApi, redis: Redis
) -> AsyncIterator[TelegramChannel]:
    """The Telegram channel of a bot built by ``open_runtime`` on an emptied Redis (``redis``),
    its webhook's secret "s3cret"."""
    configured = settings.model_copy(
        update={
            "telegram_token": TOKEN,
            "telegram_base_url": bot_api.base_url,
            "telegram_webhook_secret": "s3cret",
        }
    )
    async with open_runtime(configured) as runtime:
        channel = runtime.channels["telegram"]
        assert isinstance(channel, TelegramChannel)
        await channel.bot.initialize()  # so that stop() closes its connections
        try:
            yield channel
        finally:
            await channel.stop()


async def _post_text(client: httpx.AsyncClient, user: int, text: str) -> None:
    person = {"id": user, "is_bot": False, "first_name": "Li", "language_code": "zh-hans"}
    chat = {"id": user, "type": "private", "first_name": "Li"}
    message = {"message_id": user, "date": 1_700_000_000, "chat": chat, "from": person}
    update = {"update_id": user, "message": message | {"text": text}}
    answer = await client.post("/telegram", json=update, headers={SECRET_HEADER: "s3cret"})
    assert answer.status_code == 200


async def test_the_table_lists_every_function_one_webhook_message_runs_through(
    webhook: TelegramChannel, bot_api: FakeBotApi
) -> None:
    transport = httpx.ASGITransport(app=Starlette(routes=list(webhook.routes())))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        await _post_text(client, 41, "你好")  # warms the connections: their setup is not counted
        await webhook.wait_idle()
        with _CallGraph() as graph:
            await _post_text(client, 42, "你好")
            await webhook.wait_idle()

    assert len(bot_api.texts_to(42)) == 1, "the traced message was answered"
    listed = {(file, name) for file, name, _ in _path_table()}
    assert graph.reached() == listed, "docs/architecture.md: the message path table is not the path"
