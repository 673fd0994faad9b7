"""``python -m bot faq ask``: match questions against the knowledge base."""

from __future__ import annotations

from bot.commands import Subparsers
from handlers.faq.cli import add_faq_arguments


def register(subparsers: Subparsers) -> None:
    """Add the ``faq`` command group (``faq ask [--kb PATH] [--matcher KIND] [--json] TEXT|-``)."""
    add_faq_arguments(subparsers)
