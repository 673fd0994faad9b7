"""OutboundMessage -> Bot API ``sendMessage`` calls: inline keyboards, texts split at 4,096."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram.parsing import CHANNEL
from bot.messages import Button, DeliveryError, MediaKind, OutboundMessage

MAX_TEXT = 4096
"""Telegram's limit on one message, in UTF-16 code units."""
MAX_CALLBACK_DATA = 64
"""Telegram's limit on an inline button's ``callback_data``, in bytes."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One ``sendMessage`` call; a ``sendPhoto`` of a file when ``photo`` (a path) is set;
    a ``sendPhoto``/``sendVoice``/``sendVideo``/``sendDocument`` of a Telegram ``file_id``
    when ``media`` (kind, file_id) is set."""

    chat_id: str
    text: str
    markup: InlineKeyboardMarkup | None = None
    photo: str | None = None
    media: tuple[MediaKind, str] | None = None


def render(message: OutboundMessage) -> list[Chunk]:
    """The calls that deliver ``message``; buttons go under the last part."""
    chat_id = message.target_chat
    chunks = [Chunk(chat_id, part) for part in split_text(message.text)]
    chunks[-1] = replace(chunks[-1], markup=inline_keyboard(message.buttons))
    if message.image:
        chunks.append(Chunk(chat_id, "", photo=message.image))
    if (attachment := message.attachment) is not None and attachment.channel == CHANNEL:
        # A file_id is only valid for this bot: media from other platforms stays named in the text.
        chunks.append(Chunk(chat_id, "", media=(attachment.kind, attachment.ref)))
    return chunks


def inline_keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """One button per row (labels are often long); None without buttons."""
    if not buttons:
        return None
    for button in buttons:
        if not 1 <= len(button.payload.encode()) <= MAX_CALLBACK_DATA:
            raise DeliveryError(f"button payload {button.payload!r} is not 1-64 bytes")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.payload)] for b in buttons]
    )


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most ``limit`` UTF-16 units, cut after a newline or space when there is one."""
    parts: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        cut = _cut_point(rest, limit)
        parts.append(rest[:cut].rstrip("\n") or rest[:cut])
        rest = rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts


def _cut_point(text: str, limit: int) -> int:
    """The longest prefix within ``limit``, ending after a newline or else a space if possible."""
    end = _prefix_within(text, limit)
    for separator in ("\n", " "):
        found = text.rfind(separator, 0, end)
        if found > end // 2:
            return found + 1
    return end


def _prefix_within(text: str, limit: int) -> int:
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
