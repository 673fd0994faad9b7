"""The words that switch the bot's behaviour: handoff, opt-out, opt-in.

Lists live in ``config/customer_words.yaml``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

import config
from handlers.text_rules import WordRule

WORDS_FILE = Path(config.__file__).parent / "customer_words.yaml"


@cache
def _rules() -> dict[str, WordRule]:
    data = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    return {name: WordRule.compile(spec) for name, spec in data.items()}


def wants_handoff(text: str) -> bool:
    """人工 / 转人工 / 客服 / human / agent / "talk to a person"."""
    return _rules()["handoff"].matches(text)


def wants_optout(text: str) -> bool:
    """TD / 退订 / STOP / unsubscribe, as the whole message."""
    return _rules()["optout"].matches(text)


def wants_optin(text: str) -> bool:
    """订阅 / START / subscribe, as the whole message (the ``/start`` command is not this)."""
    return _rules()["optin"].matches(text)
