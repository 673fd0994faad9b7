"""One policy for every matcher: answer, ask "did you mean", or decline.

A matcher ranks entries with a score in ``[0, 1]``; :func:`decide` turns the ranking
into a :class:`Decision` with a :class:`Policy` (threshold, margin, suggestion floor),
so the lexical, semantic and hybrid matchers behave alike and differ only in scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from handlers.faq.knowledge import KnowledgeBase


@dataclass(frozen=True, slots=True)
class Hit:
    """An entry and its similarity to the query (0 to 1)."""

    faq_id: str
    score: float


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a question.

    ``answered``: answer with ``faq_id``. ``ambiguous``: the best entries were too close
    to choose; offer ``alternatives`` ("did you mean"). Otherwise nothing was confident;
    ``alternatives`` holds the best guesses above the suggestion floor, possibly none.
    When answered, ``alternatives`` are the runner-ups.
    """

    answered: bool
    faq_id: str | None
    score: float
    alternatives: tuple[Hit, ...]
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """Answer when the best score reaches ``threshold`` and no runner-up is within
    ``margin`` of it (else "did you mean"); below the threshold, decline and list the
    entries scoring at least ``suggest_floor``."""

    threshold: float
    margin: float
    suggest_floor: float


def decide(hits: Sequence[Hit], policy: Policy) -> Decision:
    """Apply ``policy`` to ``hits`` (best first)."""
    top = hits[0].score if hits else 0.0
    if top < policy.threshold:
        guesses = tuple(h for h in hits if h.score >= policy.suggest_floor)
        return Decision(False, None, top, guesses)
    close = tuple(h for h in hits if top - h.score < policy.margin)
    if len(close) > 1:
        return Decision(False, None, top, close, ambiguous=True)
    return Decision(True, hits[0].faq_id, top, tuple(hits[1:]))


class Matcher(Protocol):
    """What the responder, the CLI and the bench need from any matcher."""

    kb: KnowledgeBase

    def search(self, text: str, limit: int = 3) -> list[Hit]:
        """The best ``limit`` distinct entries for ``text``, best first."""
        ...

    def decide(self, text: str) -> Decision:
        """Answer, ask "did you mean", or decline."""
        ...
