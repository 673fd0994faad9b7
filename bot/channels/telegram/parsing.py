"""Bot API updates -> :class:`InboundMessage`. Telegram types stop here.

The update id becomes the message id, so the dispatcher's dedupe drops a
redelivered update. Edited messages and update types we do not use are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from telegram import CallbackQuery, ChatMemberUpdated, Message, Update, User
from telegram.constants import ChatType

from bot.messages import (
    Attachment,
    ContactRef,
    InboundMessage,
    MediaKind,
    MessageKind,
    parse_command,
)

CHANNEL = "telegram"
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
"""What we ask Telegram for; everything else is never sent to us."""
_DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message for the dispatcher, with what the channel must do around it."""

    message: InboundMessage
    in_group: bool = False
    callback_query_id: str | None = None
    addressed_to: str | None = None
    """The bot a group command names (``/help@ShopBot``), if any."""


@dataclass(frozen=True, slots=True)
class Notice:
    """An update that is no conversation: a private chat's user blocked the bot (event
    ``blocked``) or unblocked it (``unblocked``). Reported, never dispatched."""

    message: InboundMessage


Parsed = Incoming | Notice | None


def parse_update(update: Update, now: datetime) -> Parsed:
    """What an update means for us; None when it is to be ignored."""
    match update:
        case Update(message=Message() as message):
            return _from_message(update.update_id, message, now)
        case Update(callback_query=CallbackQuery() as query):
            return _from_callback(update.update_id, query, now)
        case Update(my_chat_member=ChatMemberUpdated() as change):
            return _from_membership(update.update_id, change, now)
        case _:
            return None  # edited messages, channel posts, polls, ...


def contact_of(user: User) -> ContactRef:
    """The contact for a Telegram user."""
    return ContactRef(CHANNEL, str(user.id))


def _from_message(update_id: int, message: Message, now: datetime) -> Incoming | None:
    user = message.from_user
    if user is None or user.is_bot:
        return None
    kind, text = _kind_and_text(message)
    if kind is None:
        return None  # service messages: members joining, pinned messages, ...
    common = _common(update_id, user, str(message.chat.id), now)
    in_group = message.chat.type != ChatType.PRIVATE
    if kind is MessageKind.COMMAND:
        return _command(text, message.to_dict(), common, in_group)
    attachment = _attachment(message) if kind is MessageKind.MEDIA else None
    raw = message.to_dict()
    inbound = InboundMessage(kind=kind, text=text, attachment=attachment, raw=raw, **common)
    return Incoming(inbound, in_group=in_group)


def _command(text: str, raw: dict[str, Any], common: _Common, in_group: bool) -> Incoming:
    name, args = parse_command(text) or ("", "")
    source = _deep_link_source(name, args)
    inbound = InboundMessage(
        kind=MessageKind.COMMAND,
        text=text,
        command=name,
        payload=args,
        source=source,
        raw=raw,
        **common,
    )
    return Incoming(inbound, in_group=in_group, addressed_to=_addressed_to(text))


def _deep_link_source(command: str, payload: str) -> str | None:
    """The deep-link payload of ``/start <payload>``, when it is a valid one."""
    return payload if command == "start" and _DEEP_LINK_PAYLOAD.match(payload) else None


def _attachment(message: Message) -> Attachment | None:
    """The media's ``file_id`` (of a photo, its largest size); None for stickers, polls, ..."""
    match message:
        case Message(photo=photo) if photo:
            return Attachment(MediaKind.PHOTO, CHANNEL, photo[-1].file_id)
        case Message(voice=voice) if voice is not None:
            return Attachment(MediaKind.VOICE, CHANNEL, voice.file_id)
        case Message(video=video) if video is not None:
            return Attachment(MediaKind.VIDEO, CHANNEL, video.file_id)
        case Message(document=document) if document is not None:
            return Attachment(MediaKind.FILE, CHANNEL, document.file_id)
        case _:
            return None


def _kind_and_text(message: Message) -> tuple[MessageKind | None, str]:
    if message.text is not None:
        is_command = parse_command(message.text) is not None
        return (MessageKind.COMMAND if is_command else MessageKind.TEXT), message.text
    if message.effective_attachment is not None:
        return MessageKind.MEDIA, message.caption or ""
    return None, ""


def _from_callback(update_id: int, query: CallbackQuery, now: datetime) -> Incoming | None:
    if query.data is None:
        return None  # a game button; we send none
    chat = query.message.chat.id if query.message is not None else query.from_user.id
    inbound = InboundMessage(
        kind=MessageKind.BUTTON,
        text=_button_label(query) or query.data,
        payload=query.data,
        raw=query.to_dict(),
        **_common(update_id, query.from_user, str(chat), now),
    )
    in_group = query.message is not None and query.message.chat.type != ChatType.PRIVATE
    return Incoming(inbound, in_group=in_group, callback_query_id=query.id)


def _button_label(query: CallbackQuery) -> str | None:
    markup = query.message.reply_markup if isinstance(query.message, Message) else None
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return None


def _from_membership(update_id: int, change: ChatMemberUpdated, now: datetime) -> Notice | None:
    if change.chat.type != ChatType.PRIVATE:
        return None
    event = "blocked" if change.new_chat_member.status == "kicked" else "unblocked"
    common = _common(update_id, change.from_user, str(change.chat.id), now)
    return Notice(InboundMessage(kind=MessageKind.EVENT, event=event, **common))


class _Common(TypedDict):
    """The fields every message from a Telegram user has."""

    id: str
    contact: ContactRef
    chat_id: str
    received_at: datetime
    language_hint: str | None
    display_name: str | None


def _common(update_id: int, user: User, chat_id: str, now: datetime) -> _Common:
    return {
        "id": str(update_id),
        "contact": contact_of(user),
        "chat_id": chat_id,
        "received_at": now,
        "language_hint": user.language_code,
        "display_name": user.full_name or None,
    }


def _addressed_to(text: str) -> str | None:
    head = text.strip().partition(" ")[0]
    _, at, bot_name = head.partition("@")
    return bot_name if at else None
