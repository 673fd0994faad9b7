"""Spreadsheets in and out: CSV (UTF-8, with a BOM so Excel reads Chinese) and XLSX.

The format follows the file's extension. The first row holds the column names.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from openpyxl import Workbook, load_workbook

Row = dict[str, Any]
FORMATS = (".csv", ".xlsx")


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
        return list(csv.reader(handle))


def _read_xlsx(path: Path) -> list[Sequence[Any]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SheetError(f"{path.name}: not a readable XLSX file ({exc})") from None
    try:
        return [list(row) for row in workbook.active.iter_rows(values_only=True)]
    finally:
        workbook.close()


def write_rows(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write ``rows`` under ``columns``; returns how many rows were written."""
    if _format(path) == ".xlsx":
        return _write_xlsx(path, columns, rows)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        return _write_csv(handle, columns, rows)


def _write_csv(handle: TextIO, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    writer = csv.writer(handle)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
        count += 1
    return count


def _write_xlsx(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(columns))
    count = 0
    for row in rows:
        sheet.append([_cell(row.get(column)) for column in columns])
        count += 1
    workbook.save(path)
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return "" if value is None else value


def _filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""
