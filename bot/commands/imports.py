"""``python -m bot import orders|contacts FILE``: load a CSV or XLSX spreadsheet.

A progress bar goes to stderr, then one line per bad row (``row 7: items[0].price: ...``);
the good rows are imported anyway. Exit status 1 when some row failed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import open_runtime
from bot.commands import Subparsers
from bot.progress import ProgressBar
from bot.sheets import SheetError, read_rows
from config.catalog import default_catalog
from config.settings import Settings
from handlers.spreadsheets import ImportReport, NumberedRow, import_contacts, import_orders
from storage import audit
from storage.timestamps import utc_now

ACTOR = "import"
EXIT_ROW_ERRORS = 1
EXIT_BAD_FILE = 2


def register(subparsers: Subparsers) -> None:
    """Add the ``import`` command."""
    parser = subparsers.add_parser(
        "import",
        help="import orders or contacts from a CSV or XLSX file",
        description="Orders: one row per order line (id, contact, status, sku, name, qty, "
        "price, amount, carrier, tracking_no, placed_at). Contacts: contact, name, phone, "
        "address, source, language, tags, notes (the columns `export contacts` writes).",
    )
    parser.add_argument("kind", choices=("orders", "contacts"))
    parser.add_argument("file", type=Path)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rows = read_rows(args.file)
    except SheetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_FILE
    return asyncio.run(import_file(settings, args.kind, args.file, rows))


async def import_file(
    settings: Settings, kind: str, path: Path, rows: Sequence[NumberedRow]
) -> int:
    """Import ``rows`` of ``kind``; prints the report; returns the exit status."""
    bar = ProgressBar(f"importing {kind}", len(rows))
    now = utc_now()
    async with open_runtime(settings) as runtime:
        if kind == "orders":
            report = await import_orders(
                runtime.redis,
                rows,
                now=now,
                catalog=default_catalog(),
                language=settings.language,
                tz=settings.tz,
                listeners=runtime.order_events,
                progress=bar.advance,
            )
        else:
            report = await import_contacts(
                runtime.redis, rows, now=now, progress=bar.advance, tz=runtime.settings.tz
            )
        bar.finish()
        summary = _summary(kind, report)
        await audit.record(runtime.redis, ACTOR, f"import.{kind}", path.name, summary, now)
    for error in report.errors:
        print(error, file=sys.stderr)
    print(summary)
    return EXIT_ROW_ERRORS if report.errors else 0


def _summary(kind: str, report: ImportReport) -> str:
    return (
        f"{kind}: {report.imported} imported, {report.unchanged} unchanged, "
        f"{len(report.errors)} rows with errors"
    )
