"""Moving keys of the layout before issue 17 into the shop's hash tag (``migrate-keys``).

Before, contact keys carried their own tag (``shopbot:c:{telegram:42}:profile``), the
queue, tickets and roles theirs (``shopbot:{fu}:due``), WeChat keys the app id
(``shopbot:wechat:token:{wx1}``) and the rest none (``shopbot:tags``). Each becomes
the same name without those braces under :func:`storage.keys.scope`
(``shopbot:{shop:main}:c:telegram:42:profile``). Only these known tags lose their
braces: a brace in a tag name or a message id stays as it is.

``RENAMENX`` moves a key with its TTL in one step, so the migration is idempotent
and resumable: a second run finds nothing left in the old layout, a run cut off
midway continues where the keys say. A key whose new name already exists is left
alone and counted as a conflict. One Redis node (the old layout ran on nothing else).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from storage import keys

SCAN_COUNT = 1000

_OLD_TAGS = (
    re.compile(r"^(c):\{([^}]*)\}(:.*)$"),
    re.compile(r"^\{(fu|tickets|roles)\}(:.*)$"),
    re.compile(r"^(wechat:(?:token|tag_ids)):\{([^}]*)\}(.*)$"),
)


@dataclass
class MigrationReport:
    """What one run did."""

    moved: int = 0
    conflicts: int = 0
    """Keys left in the old layout because their new name was taken."""


def new_name(old: str) -> str | None:
    """The tagged name of a key of the old layout, or None for a key that is not one."""
    prefix = f"{keys.PREFIX}:"
    if not old.startswith(prefix) or old.startswith(f"{keys.PREFIX}:{{shop:"):
        return None
    rest = old.removeprefix(prefix)
    for pattern in _OLD_TAGS:
        match = pattern.match(rest)
        if match:
            parts = match.groups()
            rest = parts[0] + (f":{parts[1]}" if len(parts) == 3 else "") + parts[-1]
            break
    return f"{keys.scope()}:{rest}"


async def old_key_count(redis: Redis) -> int:
    """How many keys of the old layout are left (a scan)."""
    total = 0
    async for key in redis.scan_iter(f"{keys.PREFIX}:*", count=SCAN_COUNT):
        total += new_name(key) is not None
    return total


async def migrate(
    redis: Redis, progress: Callable[[int], None] = lambda n: None
) -> MigrationReport:
    """Rename every key of the old layout; ``progress(n)`` after each batch of ``n`` keys."""
    report = MigrationReport()
    batch: list[tuple[str, str]] = []
    async for key in redis.scan_iter(f"{keys.PREFIX}:*", count=SCAN_COUNT):
        target = new_name(key)
        if target is not None:
            batch.append((key, target))
        if len(batch) >= SCAN_COUNT:
            await _rename(redis, batch, report)
            progress(len(batch))
            batch = []
    if batch:
        await _rename(redis, batch, report)
        progress(len(batch))
    return report


async def _rename(redis: Redis, batch: list[tuple[str, str]], report: MigrationReport) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for old, new in batch:
            pipe.renamenx(old, new)
        answers = await pipe.execute(raise_on_error=False)
    for answer in answers:
        if answer is True or answer == 1:
            report.moved += 1
        elif answer is False or answer == 0:
            report.conflicts += 1
        # An error: the key vanished between the scan and the rename (expired); nothing to do.
