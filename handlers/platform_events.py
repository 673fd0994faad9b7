"""What a platform's events say about a contact (an observer), recorded with the message.

- a Telegram ``/start <payload>`` deep link: the contact's ``source`` is the payload;
- a WeChat follow (``subscribe``) through a QR code: the scene becomes the contact's
  ``source`` unless it already has one; a follow or a scan (``scan``) through a QR code
  tags the contact ``qr:<scene>`` (source ``auto``) and records the scan;
- a WeChat menu link opened or button clicked (``view``, ``click``): recorded as an event.

Reachability needs nothing here: the dispatcher's touch of the contact clears
``unreachable`` (:func:`storage.contacts.queue_touch`). The writes are deferred to the
dispatch's last round trip, so a duplicate message records nothing.
"""

from __future__ import annotations

from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from handlers.tagging import apply_auto_tags
from storage import contacts, wechat_events

QR_SOURCE = "qr:{scene}"


async def record_platform_event(message: InboundMessage, ctx: Context) -> None:
    """Observer: the contact's source, QR scene tags and the WeChat events worth showing."""
    if message.source:
        fields = {"source": message.source}
        ctx.defer(lambda pipe: contacts.queue_update(pipe, ctx.ref.id, fields))
    if message.kind is not MessageKind.EVENT:
        return
    key = message.event_key
    match message.event:
        case "subscribe" if key:
            await _record_scene(ctx, key, first_source=True)
        case "scan" if key:
            await _record_scene(ctx, key, first_source=False)
        case "view" | "click":
            _record(ctx, message.event, key or "")


async def _record_scene(ctx: Context, scene: str, *, first_source: bool) -> None:
    source = QR_SOURCE.format(scene=scene)
    if first_source and not ctx.contact.source:
        ctx.defer(lambda pipe: contacts.queue_update(pipe, ctx.ref.id, {"source": source}))
    await apply_auto_tags(ctx, [source])
    _record(ctx, "scan", scene)


def _record(ctx: Context, name: str, detail: str) -> None:
    ctx.defer(lambda pipe: wechat_events.queue_record(pipe, ctx.ref.id, name, detail, ctx.now))
