"""The message path counted in docs/architecture.md matches the code."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "architecture.md"
_ROW = re.compile(r"^\| `([^`]+)` \| `([^`]+)` \| (\d+) \|$", re.MULTILINE)
_TOTAL = re.compile(r"^\*\*(\d+) lines\*\*", re.MULTILINE)


def function_lines(file: Path, qualname: str) -> int:
    """Lines of a function or method, ``def`` to its last line (decorators not counted)."""
    node: ast.AST = ast.parse(file.read_text(encoding="utf-8"))
    for part in qualname.split("."):
        node = next(
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and child.name == part
        )
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


def _path_table() -> list[tuple[str, str, int]]:
    text = PAGE.read_text(encoding="utf-8")
    table = text.split("<!-- message-path: start -->")[1].split("<!-- message-path: end -->")[0]
    return [(file, name, int(n)) for file, name, n in _ROW.findall(table)]


def test_each_function_on_the_message_path_has_the_lines_stated() -> None:
    rows = _path_table()
    assert len(rows) > 20
    stated = {(file, name): n for file, name, n in rows}
    actual = {(file, name): function_lines(ROOT / file, name) for file, name, _ in rows}
    assert actual == stated, "docs/architecture.md: the message path table is out of date"


def test_the_stated_total_is_the_sum_of_the_table() -> None:
    total = _TOTAL.search(PAGE.read_text(encoding="utf-8"))
    assert total is not None
    assert int(total.group(1)) == sum(n for _, _, n in _path_table())


def test_function_lines_counts_a_method_from_def_to_its_last_line(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "class A:\n    @staticmethod\n    def f():\n        x = 1\n        return x\n"
    )
    assert function_lines(source, "A.f") == 3
