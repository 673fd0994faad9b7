"""``python -m bot export contacts FILE``: the customer archive as CSV or XLSX (by extension)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.app import open_runtime
from bot.commands import Subparsers
from bot.sheets import FORMATS, write_rows
from config.settings import Settings
from handlers.spreadsheets import EXPORT_COLUMNS, export_contacts


def register(subparsers: Subparsers) -> None:
    """Add the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="export the customer archive to a CSV or XLSX file",
        description="Columns: " + ", ".join(EXPORT_COLUMNS) + ".",
    )
    parser.add_argument("kind", choices=("contacts",))
    parser.add_argument("file", type=Path)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.file.suffix.lower() not in FORMATS:
        print(f"error: {args.file.name}: use a .csv or .xlsx file", file=sys.stderr)
        return 2
    return asyncio.run(export_file(settings, args.file))


async def export_file(settings: Settings, path: Path) -> int:
    """Write every contact to ``path``."""
    async with open_runtime(settings) as runtime:
        rows = [row async for row in export_contacts(runtime.redis, settings.tz)]
    try:
        count = write_rows(path, EXPORT_COLUMNS, rows)
    except OSError as exc:
        print(f"error: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"exported {count} contacts to {path} (readable by you only)")
    return 0
