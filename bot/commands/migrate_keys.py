"""``python -m bot migrate-keys``: move keys of the old layout under the shop's hash tag."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.commands import Subparsers
from bot.progress import ProgressBar
from config.settings import Settings
from storage.connect import connect
from storage.key_migration import migrate, old_key_count


def register(subparsers: Subparsers) -> None:
    """Add the ``migrate-keys`` command."""
    parser = subparsers.add_parser(
        "migrate-keys", help="rename keys of the old layout into the shop's hash tag (resumable)"
    )
    parser.set_defaults(func=lambda args, settings: asyncio.run(migrate_keys(settings)))


async def migrate_keys(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Rename every old-layout key; print what moved. Stop the bot processes first."""
    async with connect(settings) as redis:
        bar = ProgressBar("migrating keys", await old_key_count(redis))
        report = await migrate(redis, bar.advance)
        bar.finish()
    print(f"{report.moved} keys moved, {report.conflicts} left (new name taken)", file=out)
    return 1 if report.conflicts else 0
