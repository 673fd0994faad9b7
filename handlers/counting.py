"""Counters for the statistics: messages per day, first inquiries, question outcomes.

:func:`count_message` is an observer. :func:`counting` wraps a question
responder (order questions, FAQ, fallback) so that a customer's text it claims
is counted as answered automatically or as unanswered, without touching the
responder itself.
"""

from __future__ import annotations

from bot.context import Context, Responder
from bot.messages import InboundMessage, MessageKind
from storage import daily_counters, membership
from storage.daily_counters import Metric

_COUNTED_KINDS = frozenset({MessageKind.TEXT, MessageKind.BUTTON, MessageKind.MEDIA})


async def count_message(message: InboundMessage, ctx: Context) -> None:
    """Count a customer's message, and remember their first question."""
    if ctx.is_owner or message.kind not in _COUNTED_KINDS:
        return
    ctx.defer(lambda pipe: daily_counters.bump(pipe, Metric.MESSAGES, ctx.now, ctx.settings.tz))
    if message.kind is MessageKind.TEXT:
        ctx.defer(lambda pipe: membership.record_first_inquiry(pipe, ctx.ref.id, ctx.now))


def counting(responder: Responder, metric: Metric) -> Responder:
    """``responder``, counting each customer text it claims under ``metric``."""

    async def counted(message: InboundMessage, ctx: Context) -> bool:
        claimed = await responder(message, ctx)
        if claimed and message.kind is MessageKind.TEXT and not ctx.is_owner:
            ctx.defer(lambda pipe: daily_counters.bump(pipe, metric, ctx.now, ctx.settings.tz))
        return claimed

    counted.__name__ = getattr(responder, "__name__", type(responder).__name__)
    return counted
