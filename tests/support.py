"""Helpers for tests (import as ``support``; ``tests/`` is on the path)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bot.context import Observer, Responder
from bot.dispatcher import Dispatcher
from bot.messages import MessageKind, parse_command
from bot.roles import Roles
from config.i18n import default_templates
from config.settings import Settings
from handlers.pipeline import default_pipeline

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXED_NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PYTHON = sys.executable


async def run_queued(redis: Redis, write: Callable[..., object], *args: Any) -> list[Any]:
    """Execute ``write(pipe, *args)``, a storage write that queues on a pipeline (``bump``)."""
    async with redis.pipeline(transaction=False) as pipe:
        write(pipe, *args)
        return await pipe.execute()


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FAQ_CACHE_ENV = "SHOPBOT_TEST_FAQ_CACHE_DIR"
"""Names the session's FAQ embedding cache (set by ``tests/conftest.py``)."""


def bot_env(**overrides: str) -> dict[str, str]:
    """The environment for a ``python -m bot`` subprocess: no inherited SHOPBOT_ settings
    except the session's FAQ embedding cache, so no bot embeds the shipped FAQ again."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    if FAQ_CACHE_ENV in os.environ:
        env["SHOPBOT_FAQ_CACHE_DIR"] = os.environ[FAQ_CACHE_ENV]
    env.update(overrides)
    return env


def run_cli(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` as a subprocess, with only the ``SHOPBOT_`` settings in ``env``."""
    return subprocess.run(
        [PYTHON, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
        env=bot_env(**env),
    )


async def send_command(
    dispatcher: Dispatcher, make_message: Callable[..., Any], contact: str, text: str
) -> str:
    """Dispatch the command ``text`` from ``contact`` (in English); its replies, one per line."""
    name, args = parse_command(text) or ("", "")
    message = make_message(
        text, contact=contact, kind=MessageKind.COMMAND, command=name, payload=args,
        language_hint="en",
    )  # fmt: skip
    result = await dispatcher.dispatch(message)
    return "\n".join(reply.text for reply in result.replies)


def make_dispatcher(
    redis: Redis,
    settings: Settings,
    *,
    observers: Sequence[Observer] = (),
    responders: Sequence[Responder] | None = None,
) -> Dispatcher:
    """A dispatcher on the default pipeline, or on the given handlers, at FIXED_NOW."""
    pipeline = default_pipeline(settings)
    return Dispatcher(
        redis=redis,
        settings=settings,
        templates=default_templates(),
        roles=Roles(settings, redis),
        observers=observers or pipeline.observers,
        responders=pipeline.responders if responders is None else responders,
        preloads=pipeline.preloads,
        clock=lambda: FIXED_NOW,
    )


class MovableClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
