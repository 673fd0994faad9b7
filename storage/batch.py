"""Several storage steps in one round trip.

A step queues its commands on a shared pipeline and gets back a :class:`Queued`
that picks its own replies out of the pipeline's results, so callers can put
steps of different modules into one ``execute()``. Each client round trip costs
far more than a command inside it; the per-message path is built from these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
