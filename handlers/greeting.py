"""The welcome (欢迎语): answers a bare greeting, ``/start`` and a new follower."""

from __future__ import annotations

import re

from bot.context import Context
from bot.messages import InboundMessage, MessageKind

GREETINGS = frozenset(
    {
        "你好", "您好", "你好呀", "您好呀", "在吗", "在不在", "有人吗", "哈喽", "嗨", "早上好",
        "晚上好", "下午好", "亲", "亲在吗", "hi", "hello", "hey", "hiya", "hi there",
        "hello there", "good morning", "good afternoon", "good evening", "anyone there",
    }
)  # fmt: skip
_NOISE = re.compile(r"[\s,.!?~，。！？～、…]+")


def is_greeting(text: str) -> bool:
    """True when the whole message is a greeting and nothing else."""
    return _NOISE.sub(" ", text).strip().lower() in GREETINGS


def _wants_welcome(message: InboundMessage) -> bool:
    match message.kind:
        case MessageKind.COMMAND:
            return message.command == "start"
        case MessageKind.EVENT:
            return message.event == "subscribe"
        case MessageKind.TEXT:
            return is_greeting(message.text)
        case _:
            return False


async def greet(message: InboundMessage, ctx: Context) -> bool:
    """Welcome the customer in their language; "welcome back" once they have written before."""
    if not _wants_welcome(message):
        return False
    key = "greeting_returning" if ctx.contact.message_count > 1 else "greeting"
    ctx.reply(ctx.render(key))
    return True
