"""FAQ answering: a bilingual knowledge base and a matcher that knows when not to guess."""

from handlers.faq.knowledge import FaqButton, FaqEntry, KnowledgeBase, answer_for
from handlers.faq.matcher import Decision, FaqMatcher, Hit
from handlers.faq.synonyms import Synonyms

__all__ = [
    "Decision",
    "FaqButton",
    "FaqEntry",
    "FaqMatcher",
    "Hit",
    "KnowledgeBase",
    "Synonyms",
    "answer_for",
]
