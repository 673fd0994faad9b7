"""``faq ask``: try the FAQ matcher from the command line.

``faq ask [--kb PATH] [--matcher lexical|semantic|hybrid] [--json] TEXT`` answers one
question (the matcher defaults to ``SHOPBOT_FAQ_MATCHER``); with ``-`` instead of TEXT it
reads one question per line from stdin and writes one JSON object per line::

    {"query": "...", "faq_id": "shipping_time" | null, "score": 0.83, "answered": true,
     "alternatives": [{"faq_id": "...", "score": 0.41}, ...]}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from config.settings import Settings
from handlers.faq.choice import MATCHER_KINDS, MatcherKind, build_matcher, resolve_kind
from handlers.faq.decision import Decision
from handlers.faq.knowledge import (
    FaqEntry,
    KnowledgeBase,
    KnowledgeBaseError,
    answer_for,
    default_kb_path,
)
from handlers.faq.store import working_kb_path
from handlers.faq.text import is_cjk


def decision_to_json(query: str, decision: Decision) -> dict[str, Any]:
    """The JSON-lines record for one question."""
    return {
        "query": query,
        "faq_id": decision.faq_id,
        "score": decision.score,
        "answered": decision.answered,
        "alternatives": [{"faq_id": h.faq_id, "score": h.score} for h in decision.alternatives],
    }


def run_faq_ask(
    kb_path: str | Path | None,
    text_or_dash: str,
    as_json: bool,
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO | None = None,
    kind: MatcherKind = "lexical",
    cache_folder: Path | None = None,
) -> int:
    """Run ``faq ask`` with a ``kind`` matcher (embeddings cached in ``cache_folder``,
    default ``./data``); returns the exit code (0, or 2 when the knowledge base is
    unusable)."""
    try:
        kb = KnowledgeBase.load(kb_path or default_kb_path())
        matcher = build_matcher(kb, kind, cache_folder or Path("data"))
    except (OSError, KnowledgeBaseError) as exc:
        print(f"faq ask: cannot load knowledge base: {exc}", file=stderr or sys.stderr)
        return 2
    if text_or_dash == "-":
        for line in stdin:
            query = line.rstrip("\r\n")
            _write_json(stdout, decision_to_json(query, matcher.decide(query)))
            stdout.flush()
        return 0
    decision = matcher.decide(text_or_dash)
    if as_json:
        _write_json(stdout, decision_to_json(text_or_dash, decision))
    else:
        stdout.write(render_text(matcher.kb, text_or_dash, decision) + "\n")
    return 0


def render_text(kb: KnowledgeBase, query: str, decision: Decision) -> str:
    """A human-readable answer in the language of the question."""
    language = "zh-CN" if is_cjk(query) else "en"
    if decision.answered and decision.faq_id is not None:
        answer = answer_for(kb[decision.faq_id], language)
        return f"[{decision.faq_id} {decision.score:.2f}] {answer}"
    heading = "did you mean:" if decision.ambiguous else "no confident answer"
    lines = [f"{heading} (best score {decision.score:.2f})"]
    lines += [
        f"  - {h.faq_id} ({h.score:.2f}): {_example(kb[h.faq_id], language)}"
        for h in decision.alternatives
    ]
    return "\n".join(lines)


def _example(entry: FaqEntry, language: str) -> str:
    wanted = [q for q in entry.questions if is_cjk(q) == (language == "zh-CN")]
    return (wanted or list(entry.questions))[0]


def _write_json(stdout: TextIO, record: dict[str, Any]) -> None:
    stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def add_faq_arguments(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Register ``faq ask``; the ``ask`` parser sets ``func(args) -> int``."""
    faq = subparsers.add_parser("faq", help="FAQ knowledge base tools")
    commands = faq.add_subparsers(dest="faq_command", required=True)
    ask = commands.add_parser("ask", help="match a question against the knowledge base")
    ask.add_argument(
        "--kb", type=Path, default=None, help="knowledge base YAML (default: the configured one)"
    )
    ask.add_argument(
        "--matcher", choices=MATCHER_KINDS, default=None, help="default: SHOPBOT_FAQ_MATCHER"
    )
    ask.add_argument("--json", action="store_true", help="print a JSON object")
    ask.add_argument("text", help="the question, or - to read one question per line from stdin")
    ask.set_defaults(func=_ask_from_args)
    return faq


def _ask_from_args(args: argparse.Namespace, settings: Settings | None = None) -> int:
    settings = settings or Settings()
    kb = args.kb
    if kb is None and working_kb_path(settings).exists():
        kb = working_kb_path(settings)
    try:
        kind = resolve_kind(args.matcher or settings.faq_matcher)
    except ValueError as exc:
        print(f"faq ask: {exc}", file=sys.stderr)
        return 2
    cache = settings.faq_cache_dir or settings.data_dir
    return run_faq_ask(kb, args.text, args.json, sys.stdin, sys.stdout, None, kind, cache)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m handlers.faq.cli faq ask ...``."""
    parser = argparse.ArgumentParser(prog="shopbot")
    add_faq_arguments(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
