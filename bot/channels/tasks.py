"""Background work that outlives a request: tracked, awaited on stop, never cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskTracker:
    """Keeps a reference to every task it starts, logs their failures and drains them."""

    def __init__(self, channel: str) -> None:
        self._channel = channel
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Start ``coro`` as a tracked task."""
        self._tasks.add(task := asyncio.get_running_loop().create_task(coro))
        task.add_done_callback(self._finished)
        return task

    async def drain(self) -> None:
        """Wait for every task, including those started while waiting."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._tasks)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s background task failed", self._channel, exc_info=task.exception())
