"""``python -m bot forget`` end to end, in subprocesses on the embedded server (issue 13).

The rewritten append-only file starts with a compressed snapshot here, so a search of the
folder's bytes proves less than ``tests/handlers/test_erasure.py`` does (it turns
compression off); this test pins down the command: the question, ``--yes``, the answers.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from support import run_cli

ALICE_WORDS = "我的手机号 13912345678，住在秘密路八十八号"
BOB_WORDS = "我是保留先生 13800001111"


def run_bot(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(*args, stdin=stdin, SHOPBOT_DATA_DIR=str(data))


def on_disk(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_forget_asks_first_then_erases_the_contact_from_the_data_folder(tmp_path):
    data = tmp_path / "data"
    assert run_bot(data, "chat", "--as", "alice", stdin=ALICE_WORDS + "\n").returncode == 0
    assert run_bot(data, "chat", "--as", "bob", stdin=BOB_WORDS + "\n").returncode == 0

    declined = run_bot(data, "forget", "console:alice", stdin="no\n")
    assert declined.returncode == 1, declined.stderr
    assert "Erase C1 (console:alice)" in declined.stdout and "Nothing erased." in declined.stdout
    assert b"13912345678" in on_disk(data), "still there: nothing was erased"

    erased = run_bot(data, "forget", "--yes", "C1")

    assert erased.returncode == 0, erased.stderr
    assert "gone from disk" in erased.stdout
    files = on_disk(data)
    for text in ("13912345678", "秘密路", "console:alice"):
        assert text.encode() not in files, text
    archive = tmp_path / "archive.csv"
    assert run_bot(data, "export", "contacts", str(archive)).returncode == 0
    rows = archive.read_text(encoding="utf-8-sig")
    assert "console:bob" in rows and "console:alice" not in rows
    again = run_bot(data, "forget", "--yes", "console:alice")
    assert again.returncode == 1 and "no such contact" in again.stderr
