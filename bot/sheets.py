"""Spreadsheets in and out: CSV (UTF-8, with a BOM so Excel reads Chinese) and XLSX.

The format follows the file's extension. The first row holds the column names.

Written files are safe to open in Excel or WPS: customers control some cells (a display
name, a ``/start`` payload), so a CSV cell that would start with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading ``'`` (which reading takes off again),
and every XLSX text cell is a string cell, never a formula. They are created readable
by their owner only (mode 0600), under a temporary name renamed into place once whole.
"""

from __future__ import annotations

import csv
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

Row = dict[str, Any]
FORMATS = (".csv", ".xlsx")
FILE_MODE = 0o600
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet program may read as the start of a formula (OWASP's CSV injection list)."""
TEXT_MARK = "'"


class SheetError(ValueError):
    """The file cannot be read or written as a spreadsheet."""


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SheetError(f"{path.name}: use a .csv or .xlsx file")
    return suffix


def read_rows(path: Path) -> list[tuple[int, Row]]:
    """``(row number, {column: value})`` for every non-empty row after the header.

    Row numbers are as a spreadsheet shows them (the header is row 1).
    """
    if not path.is_file():
        raise SheetError(f"no such file {path}")
    rows = _read_xlsx(path) if _format(path) == ".xlsx" else _read_csv(path)
    header, *body = rows or [[]]
    names = [str(name).strip() if name is not None else "" for name in header]
    return [
        (number, {name: value for name, value in zip(names, row, strict=False) if name})
        for number, row in enumerate(body, start=2)
        if any(_filled(value) for value in row)
    ]


def _read_csv(path: Path) -> list[Sequence[Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [[_unescaped(value) for value in row] for row in csv.reader(handle)]


def _read_xlsx(path: Path) -> list[Sequence[Any]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SheetError(f"{path.name}: not a readable XLSX file ({exc})") from None
    try:
        sheet = workbook.active
        if sheet is None:
            raise SheetError(f"{path.name}: the workbook has no sheet to read")
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def write_rows(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write ``rows`` under ``columns`` (a file of mode 0600); returns how many were written."""
    xlsx = _format(path) == ".xlsx"
    with _private_file(path) as handle:
        if xlsx:
            return _write_xlsx(handle, columns, rows)
        with open(handle.fileno(), "w", encoding="utf-8-sig", newline="", closefd=False) as text:
            return _write_csv(text, columns, rows)


@contextmanager
def _private_file(path: Path) -> Iterator[IO[bytes]]:
    """A new file beside ``path``, created with mode 0600, renamed to ``path`` once written.

    Created with its mode (not changed after writing), so no other user can open it
    while it is written; replacing ``path`` also drops the mode of a file it overwrites.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_csv(handle: TextIO, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    writer = csv.writer(handle)
    writer.writerow([_escaped(column) for column in columns])
    count = 0
    for row in rows:
        writer.writerow([_escaped(_cell(row.get(column))) for column in columns])
        count += 1
    return count


def _write_xlsx(
    handle: IO[bytes], columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([_xlsx_cell(sheet, column) for column in columns])
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, _cell(row.get(column))) for column in columns])
        count += 1
    workbook.save(handle)
    return count


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """Text as a string cell: openpyxl would make ``=...`` a formula, ``#N/A`` an error."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell


def _escaped(value: Any) -> Any:
    """A CSV cell a spreadsheet program shows as text (``'`` before a formula start).

    Text that already starts with quotes before a formula start gets one more, so that
    :func:`_unescaped` gives back exactly what was written.
    """
    if isinstance(value, str) and value.lstrip(TEXT_MARK).startswith(FORMULA_STARTS):
        return TEXT_MARK + value
    return value


def _unescaped(value: str) -> str:
    """A CSV cell as it was before :func:`_escaped`."""
    if value.startswith(TEXT_MARK) and value.lstrip(TEXT_MARK).startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return "" if value is None else value


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""
