"""WeChat XML -> :class:`InboundMessage` (through wechatpy), and what to do with it.

Messages are identified by ``MsgId``; events by sender, ``CreateTime`` and the
event name (WeChat's own advice for deduplicating events, plus the name so two
different events in one second stay apart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from wechatpy import events as wx_events
from wechatpy import messages as wx_messages
from wechatpy.parser import parse_message

from bot.messages import (
    Attachment,
    ContactRef,
    InboundMessage,
    MediaKind,
    MessageKind,
    parse_command,
)

CHANNEL = "wechat"


class Handling(StrEnum):
    """Who deals with a parsed update."""

    DISPATCH = "dispatch"
    """A user action for the dispatcher (and its handlers)."""
    RECORD = "record"
    """No conversation, but a fact to record (unsubscribe, template delivery results):
    reported to the event sink, never dispatched."""
    IGNORE = "ignore"
    """Nothing to do: logged and answered ``success``."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """One update: the message, our account id (``ToUserName``) and who handles it."""

    message: InboundMessage
    account: str
    handling: Handling


_DISPATCHED_EVENTS = frozenset({"subscribe", "scan", "click", "view"})
_RECORDED_EVENTS = frozenset({"unsubscribe", "templatesendjobfinish"})


def parse(xml: str, menu: Mapping[str, str], received_at: datetime) -> Parsed:
    """Parse checked XML; ``menu`` maps CLICK keys to the text they stand for."""
    wx = parse_message(xml)
    fields = _fields(wx, menu)
    contact = ContactRef(CHANNEL, wx.source)
    message = InboundMessage(
        contact=contact,
        chat_id=contact.external_id,
        received_at=received_at,
        raw=dict(wx._data),
        **fields,
    )
    return Parsed(message, wx.target or "", _handling(message))


def _handling(message: InboundMessage) -> Handling:
    match message.kind:
        case MessageKind.EVENT if message.event in _DISPATCHED_EVENTS:
            return Handling.DISPATCH
        case MessageKind.EVENT if message.event in _RECORDED_EVENTS:
            return Handling.RECORD
        case MessageKind.EVENT:
            return Handling.IGNORE
        case _:
            return Handling.DISPATCH


def _fields(wx: Any, menu: Mapping[str, str]) -> dict[str, Any]:
    match wx:
        case wx_messages.TextMessage():
            return {"id": str(wx.id), **_text_fields(wx.content or "")}
        case wx_messages.LinkMessage():
            return _media(wx, f"{wx.title or ''} {wx.url or ''}".strip())
        case wx_messages.LocationMessage():
            return _media(wx, wx.label or f"{wx.location_x},{wx.location_y}")
        case wx_messages.VoiceMessage():
            return _media(wx, wx.recognition or "", MediaKind.VOICE)
        case wx_messages.ImageMessage():
            return _media(wx, "", MediaKind.PHOTO)
        case wx_messages.VideoMessage() | wx_messages.ShortVideoMessage():
            return _media(wx, "", MediaKind.VIDEO)
        case wx_events.BaseEvent():
            return _event(wx, menu)
        case _:
            return {"id": str(wx.id), "kind": MessageKind.EVENT, "event": "unknown"}


def _text_fields(text: str) -> dict[str, Any]:
    command = parse_command(text)
    if command is None:
        return {"kind": MessageKind.TEXT, "text": text}
    name, args = command
    return {"kind": MessageKind.COMMAND, "text": text, "command": name, "payload": args}


def _media(wx: Any, description: str, kind: MediaKind | None = None) -> dict[str, Any]:
    fields = {"id": str(wx.id), "kind": MessageKind.MEDIA, "text": description, "payload": wx.type}
    media_id = getattr(wx, "media_id", None)
    if kind is not None and media_id:
        fields["attachment"] = Attachment(kind, CHANNEL, media_id)
    return fields


def _event(wx: Any, menu: Mapping[str, str]) -> dict[str, Any]:
    name, key = _event_name_and_key(wx)
    fields: dict[str, Any] = {
        "id": f"{wx.source}:{wx._data.get('CreateTime', '')}:{name}",
        "kind": MessageKind.EVENT,
        "event": name,
        "event_key": key,
    }
    if name == "click" and key is not None and key in menu:
        fields.update(_text_fields(menu[key]))
    if name == "templatesendjobfinish":
        fields["payload"] = wx.status or ""
    return fields


def _event_name_and_key(wx: Any) -> tuple[str, str | None]:
    match wx:
        case wx_events.SubscribeScanEvent() | wx_events.ScanEvent():
            return ("subscribe" if wx.event == "subscribe_scan" else "scan"), wx.scene_id
        case wx_events.SubscribeEvent():
            return "subscribe", wx.key or None
        case wx_events.ClickEvent():
            return "click", wx.key
        case wx_events.ViewEvent():
            return "view", wx.url
        case wx_events.TemplateSendJobFinishEvent():
            return "templatesendjobfinish", str(wx.id)
        case _:
            return (wx.event or str(wx._data.get("Event", "unknown"))).lower(), None
