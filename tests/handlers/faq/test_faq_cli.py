"""``faq ask``: JSON lines from stdin, one JSON object, human-readable output, argparse wiring."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import yaml

from handlers.faq.cli import add_faq_arguments, default_kb_path, run_faq_ask

KEYS = {"query", "faq_id", "score", "answered", "alternatives"}


def ask(text: str, *, as_json: bool = False, stdin: str = "", kb: Path | None = None):
    out, err = io.StringIO(), io.StringIO()
    code = run_faq_ask(kb, text, as_json, io.StringIO(stdin), out, err)
    return code, out.getvalue(), err.getvalue()


def test_json_lines_from_stdin_follow_the_schema() -> None:
    code, out, _ = ask("-", stdin="可以开发票吗\nasdfgh\n\ndo u take cash on delivery\nshipping\n")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["query"] for r in records] == [
        "可以开发票吗",
        "asdfgh",
        "",
        "do u take cash on delivery",
        "shipping",
    ]
    for record in records:
        assert set(record) == KEYS
        assert isinstance(record["score"], float) and isinstance(record["answered"], bool)
        assert record["faq_id"] is None or isinstance(record["faq_id"], str)
        for alt in record["alternatives"]:
            assert set(alt) == {"faq_id", "score"} and isinstance(alt["score"], float)
    invoice, nonsense, empty, cod, ambiguous = records
    assert (invoice["answered"], invoice["faq_id"]) == (True, "invoice")
    assert (nonsense["answered"], nonsense["faq_id"]) == (False, None)
    assert (empty["answered"], empty["score"], empty["alternatives"]) == (False, 0.0, [])
    assert cod["faq_id"] == "cash_on_delivery"
    assert ambiguous["faq_id"] is None and len(ambiguous["alternatives"]) >= 2
    assert "可以开发票吗" in out  # not \u-escaped


def test_single_question_as_json() -> None:
    code, out, _ = ask("what carrier do you use", as_json=True)
    record = json.loads(out)
    assert code == 0 and out.count("\n") == 1
    assert set(record) == KEYS and record["faq_id"] == "carriers" and record["answered"] is True


def test_human_readable_answer_in_the_question_language() -> None:
    _, zh, _ = ask("可以开发票吗")
    _, en, _ = ask("can i get an invoice please")
    assert zh.startswith("[invoice ") and "发票" in zh
    assert en.startswith("[invoice ") and "invoice" in en.lower() and "发票" not in en


def test_human_readable_refusal_lists_alternatives() -> None:
    _, out, _ = ask("今天天气怎么样")
    assert out.startswith("no confident answer")
    _, out, _ = ask("shipping")
    assert out.startswith("did you mean:")
    assert "shipping_time" in out and "shipping_areas" in out


def test_custom_kb_path(tmp_path: Path) -> None:
    kb = tmp_path / "kb.yaml"
    entry = {"id": "sofa", "questions": ["do you clean sofas"], "answer": "Yes, we do."}
    kb.write_text(yaml.safe_dump([entry]), encoding="utf-8")
    code, out, _ = ask("sofa cleaning", kb=kb)
    assert code == 0 and out.strip().endswith("Yes, we do.")


def test_unreadable_kb_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  questions: []\n  answer: y\n", encoding="utf-8")
    code, out, err = ask("hi", kb=bad)
    assert code == 2 and out == "" and "'questions'" in err
    code, _, err = ask("hi", kb=tmp_path / "missing.yaml")
    assert code == 2 and "missing.yaml" in err


def test_argparse_wiring() -> None:
    parser = argparse.ArgumentParser()
    add_faq_arguments(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["faq", "ask", "--json", "--kb", "x.yaml", "几天发货"])
    assert (args.command, args.faq_command, args.json, args.text) == (
        "faq",
        "ask",
        True,
        "几天发货",
    )
    assert args.kb == Path("x.yaml") and callable(args.func)
    defaults = parser.parse_args(["faq", "ask", "-"])
    assert (defaults.kb, defaults.json, defaults.text) == (None, False, "-")


def test_default_kb_lives_in_the_config_package() -> None:
    path = default_kb_path()
    assert path.is_file() and path.parts[-3:] == ("config", "faq", "default.yaml")


def _ask_with(settings, capsys, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_faq_arguments(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["faq", "ask", "--json", *argv])
    code = args.func(args, settings)
    return code, capsys.readouterr().out


def test_matcher_option_and_setting_choose_the_matcher(settings, capsys) -> None:
    question = "what sizes should i pick"
    code, out = _ask_with(settings, capsys, question)
    assert code == 0 and json.loads(out)["faq_id"] == "size_guide"  # the default: hybrid
    _, out = _ask_with(settings, capsys, "--matcher", "lexical", question)
    assert json.loads(out)["answered"] is False
    lexical = settings.model_copy(update={"faq_matcher": "lexical"})
    _, out = _ask_with(lexical, capsys, question)
    assert json.loads(out)["answered"] is False
    _, out = _ask_with(lexical, capsys, "--matcher", "semantic", question)
    assert json.loads(out)["faq_id"] == "size_guide"
