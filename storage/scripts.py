"""Lua scripts as module-level objects, loaded once and run on whichever client is given."""

from __future__ import annotations

from redis.commands.core import AsyncScript


def script(source: str) -> AsyncScript:
    """A script object callable on any client or pipeline (always pass ``client=``).

    It holds no client of its own, so one object serves the single node, the cluster and
    a pipeline alike; redis-py runs it by SHA and loads it on a ``NOSCRIPT``.
    """
    return AsyncScript(None, source.encode())  # type: ignore[arg-type]  # calls pass client=
