"""Several storage steps in one round trip.

A step queues its commands on a shared pipeline and gets back a :class:`Queued`
that picks its own replies out of the pipeline's results, so callers can put
steps of different modules into one ``execute()``. Each client round trip costs
far more than a command inside it; the per-message path is built from these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Queued(Generic[T]):
    """A step queued on a pipeline: its replies are ``results[start:end]``."""

    start: int
    end: int
    parse: Callable[[Sequence[Any]], T]

    def result(self, results: Sequence[Any]) -> T:
        """This step's value, from the results of the whole pipeline."""
        return self.parse(results[self.start : self.end])


def queue(
    pipe: Pipeline, commands: Callable[[Pipeline], object], parse: Callable[[Sequence[Any]], T]
) -> Queued[T]:
    """Queue ``commands(pipe)``; ``parse`` turns their replies into the step's value."""
    start = len(pipe)
    commands(pipe)
    return Queued(start, len(pipe), parse)


Reader = Callable[[Sequence[Any]], T]
"""Reads a step's value from the results of the whole pipeline it was queued on."""


class Coalescer:
    """One round trip for the steps concurrent callers start in the same loop iteration.

    Under load several messages reach the same step at once (their arrival,
    say); each waits for its own value while one pipeline serves them all. A
    round trip costs the client far more than the commands in it, so this is
    where throughput comes from. A step's Redis error reaches only its caller;
    a lost connection reaches every caller of that round trip.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._waiting: list[tuple[Callable[[Pipeline], Reader[Any]], asyncio.Future[Any]]] = []
        self._flushes: set[asyncio.Task[None]] = set()
        self.round_trips = 0
        """How many pipelines ran (steps per round trip tells how much was shared)."""

    async def run(self, queue: Callable[[Pipeline], Reader[T]]) -> T:
        """Queue a step with those of concurrent callers and wait for its value."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((queue, future))
        if len(self._waiting) == 1:
            flush = loop.create_task(self._flush())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        return await future

    async def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        self.round_trips += 1
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                steps = [_Step(pipe, queue) for queue, _ in waiting]
                results = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # The connection: every caller of this round trip hears it.
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        for step, (_, future) in zip(steps, waiting, strict=True):
            if not future.done():
                step.settle(future, results)


class _Step:
    """One caller's commands within a coalesced pipeline."""

    def __init__(self, pipe: Pipeline, queue: Callable[[Pipeline], Reader[Any]]) -> None:
        self.start = len(pipe)
        self.read = queue(pipe)
        self.end = len(pipe)

    def settle(self, future: asyncio.Future[Any], results: Sequence[Any]) -> None:
        failed = next((r for r in results[self.start : self.end] if isinstance(r, Exception)), None)
        try:
            if failed is not None:
                raise failed
            future.set_result(self.read(results))
        except Exception as exc:
            future.set_exception(exc)
