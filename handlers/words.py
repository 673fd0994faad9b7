"""The words that switch the bot's behaviour (handoff, opt-out, opt-in) and small talk.

Lists live in ``config/customer_words.yaml``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

import config
from handlers.text_rules import WordRule, bare, phrase_regex

WORDS_FILE = Path(config.__file__).parent / "customer_words.yaml"


SMALL_TALK = "small_talk"
SMALL_TALK_ORDER = ("farewell", "thanks", "acknowledge")
"""Small-talk kinds, the first present in a message wins."""


_Lists = dict[str, list[object]]
"""A word rule's ``exact`` / ``contains`` lists, or the small-talk phrases of each kind."""


@cache
def _data() -> dict[str, _Lists]:
    data: dict[str, _Lists] = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    return data


@cache
def _rules() -> dict[str, WordRule]:
    return {name: WordRule.compile(spec) for name, spec in _data().items() if name != SMALL_TALK}


@cache
def _small_talk() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    """A pattern of messages made only of small-talk phrases, one of a single phrase,
    and each phrase's kind."""
    kinds = {
        bare(str(phrase)): kind
        for kind in reversed(SMALL_TALK_ORDER)
        for phrase in _data()[SMALL_TALK].get(kind, ())
    }
    phrases = sorted(kinds, key=len, reverse=True)
    alternatives = "|".join(phrase_regex(phrase) for phrase in phrases)
    return re.compile(rf"(?:\s*(?:{alternatives}))+\s*"), re.compile(alternatives), kinds


def small_talk(text: str) -> str | None:
    """``farewell``, ``thanks`` or ``acknowledge`` when the whole message is small talk
    ("谢谢，再见", "ok thanks", "bye"), else None."""
    whole, one, kinds = _small_talk()
    words = bare(text)
    if not words or whole.fullmatch(words) is None:
        return None
    found = {kinds[bare(match.group(0))] for match in one.finditer(words)}
    return next((kind for kind in SMALL_TALK_ORDER if kind in found), None)


def wants_handoff(text: str) -> bool:
    """人工 / 转人工 / 客服 / human / agent / "talk to a person"."""
    return _rules()["handoff"].matches(text)


def wants_optout(text: str) -> bool:
    """TD / 退订 / STOP / unsubscribe, as the whole message."""
    return _rules()["optout"].matches(text)


def asks_own_membership(text: str) -> bool:
    """我是什么会员 / 我的等级 / "what tier am I"."""
    return _rules()["my_membership"].matches(text)


def wants_optin(text: str) -> bool:
    """订阅 / START / subscribe, as the whole message (the ``/start`` command is not this)."""
    return _rules()["optin"].matches(text)
