"""Spreadsheet files written safely: no formulas from customers' text, mode 0600 (issue 13)."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest
from openpyxl import load_workbook
from support import FIXED_NOW

from bot.commands.export import export_file
from bot.sheets import read_rows, write_rows
from config.settings import Settings
from handlers.spreadsheets import EXPORT_COLUMNS, export_contacts
from storage import contacts

HYPERLINK = '=HYPERLINK("http://x","y")'
RISKY = [HYPERLINK, "+1+2", "-3+4", "@SUM(A1)", "\tTab", "\rReturn", "#N/A"]


async def _export(redis, path):
    await contacts.touch(redis, "telegram:5", FIXED_NOW, display_name=HYPERLINK)
    await contacts.update(redis, "telegram:5", {"phone": "+86 138", "source": "@start"})
    rows = [row async for row in export_contacts(redis, Settings().tz)]
    return write_rows(path, EXPORT_COLUMNS, rows)


async def test_an_xlsx_export_of_a_formula_name_holds_no_formula(redis, tmp_path):
    path = tmp_path / "archive.xlsx"
    assert await _export(redis, path) == 1

    sheet = load_workbook(path).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [c.data_type for c in cells if c.data_type == "f"] == []
    values = {cell.value for cell in cells}
    assert {HYPERLINK, "+86 138", "@start"} <= values
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml


def test_every_risky_text_is_a_string_cell_in_xlsx(tmp_path):
    path = tmp_path / "risky.xlsx"
    write_rows(path, ["text", "n"], [{"text": text, "n": -5} for text in RISKY])

    rows = list(load_workbook(path).active.iter_rows(min_row=2))
    # XML reads a carriage return back as a line feed; the cell stays text.
    expected = [(text.replace("\r", "\n"), "s") for text in RISKY]
    assert [(row[0].value, row[0].data_type) for row in rows] == expected
    assert {row[1].value for row in rows} == {-5}


def test_csv_cells_that_could_start_a_formula_are_marked_as_text(tmp_path):
    path = tmp_path / "risky.csv"
    write_rows(path, ["text", "n"], [{"text": text, "n": -5} for text in RISKY])

    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1] == '"\'=HYPERLINK(""http://x"",""y"")",-5'
    assert [row["text"] for _, row in read_rows(path)] == RISKY
    assert {row["n"] for _, row in read_rows(path)} == {"-5"}
    raw = path.read_bytes().decode("utf-8-sig")
    for text in ("'+1+2", "'-3+4", "'@SUM(A1)", "'\tTab", "'\rReturn"):
        assert text in raw
    assert "'#N/A" not in raw


def test_a_csv_cell_starting_with_a_quote_but_no_formula_is_kept(tmp_path):
    path = tmp_path / "quotes.csv"
    write_rows(path, ["text"], [{"text": "'quoted"}, {"text": "'=already"}])

    assert [row["text"] for _, row in read_rows(path)] == ["'quoted", "'=already"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_export_files_are_created_readable_by_their_owner_only(
    redis, tmp_path, monkeypatch, suffix
):
    path = tmp_path / f"archive{suffix}"
    path.write_text("old")
    path.chmod(0o644)
    old_umask = os.umask(0)
    changed_modes = []
    monkeypatch.setattr(os, "chmod", lambda *args, **kw: changed_modes.append(args))
    monkeypatch.setattr(os, "fchmod", lambda *args, **kw: changed_modes.append(args))
    try:
        await _export(redis, path)
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert changed_modes == []
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_failed_write_leaves_no_file_behind(tmp_path):
    path = tmp_path / "broken.csv"

    def rows():
        yield {"text": "one"}
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        write_rows(path, ["text"], rows())
    assert list(tmp_path.iterdir()) == []


async def test_the_export_command_reports_a_folder_it_cannot_write_to(settings, tmp_path, capsys):
    status = await export_file(settings, tmp_path / "missing" / "archive.csv")

    assert status == 1
    assert "cannot write" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
