"""What a platform's events say about a contact (an observer), recorded with the message.

- a Telegram ``/start <payload>`` deep link: the contact's ``source`` is the payload;
- a WeChat follow (``subscribe``) through a QR code: the scene becomes the contact's
  ``source`` unless it already has one; a follow or a scan (``scan``) through a QR code
  tags the contact ``qr:<scene>`` (source ``auto``) and records the scan;
- a WeChat menu link opened or button clicked (``view``, ``click``): recorded as an event.

A message clears ``unreachable`` by itself: the dispatcher's touch of the contact does
(:func:`storage.contacts.queue_touch`). The writes are deferred to the dispatch's last
round trip, so a duplicate message records nothing.

What the channels report without dispatching it goes to :class:`PlatformEvents`, the
app's :class:`bot.messages.EventSink`:

- a Telegram user blocks (``blocked``) or unblocks (``unblocked``) the bot: the contact is
  marked unreachable, or reachable again;
- a WeChat unfollow (``unsubscribe``): unreachable, and its customer-service window closes;
- a WeChat template message's delivery report (``templatesendjobfinish``): recorded;
- a send refused because the contact blocked the bot or unfollowed: unreachable;
- a WeChat message with buttons went out: its buttons are remembered, so that a reply
  "2" presses the second (the channel reads them back, :func:`storage.wechat_buttons.pressed`).
"""

from __future__ import annotations

import logging
from contextlib import suppress

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.context import Context
from bot.messages import ContactRef, InboundMessage, MessageKind, OutboundMessage
from handlers.tagging import apply_auto_tags
from storage import contacts, dedupe, tokens, wechat_buttons, wechat_events, wechat_window

log = logging.getLogger(__name__)

QR_SOURCE = "qr:{scene}"
BLOCKED = "{channel}: blocked the bot"
UNSUBSCRIBED = "unsubscribed"


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


class PlatformEvents:
    """The :class:`bot.messages.EventSink` the app gives its channels."""

    def __init__(self, redis: Redis, *, dedupe_ttl_s: int) -> None:
        self._redis = redis
        self._dedupe_ttl_s = dedupe_ttl_s

    async def record(self, event: InboundMessage) -> None:
        """Apply ``event`` once per message id, as the dispatcher does for messages.

        On a Redis error the claim is released and the error goes up, so the channel
        lets the platform redeliver and the copy gets in.
        """
        channel, token = event.contact.channel, tokens.new_token()
        if not await dedupe.claim(self._redis, channel, event.id, self._dedupe_ttl_s, token):
            return
        try:
            await self._apply(event)
        except RedisError:
            with suppress(RedisError):
                await dedupe.release(self._redis, channel, event.id, token)
            raise

    async def _apply(self, event: InboundMessage) -> None:
        contact_id = event.contact.id
        match event.event:
            case "blocked":
                reason = BLOCKED.format(channel=event.contact.channel)
                await contacts.mark_unreachable(self._redis, contact_id, reason)
            case "unblocked":
                await contacts.mark_reachable(self._redis, contact_id)
            case "unsubscribe":
                await contacts.mark_unreachable(self._redis, contact_id, UNSUBSCRIBED)
                await wechat_window.close(self._redis, contact_id)
            case "templatesendjobfinish":
                detail = f"msgid {event.event_key}: {event.payload}"
                await wechat_events.record(
                    self._redis, contact_id, "template_result", detail, event.received_at
                )
            case name:
                log.warning("platform event %r from %s not recorded", name, event.contact.channel)

    async def unreachable(self, contact: ContactRef, reason: str) -> None:
        """Mark ``contact`` unreachable: sends to it are refused until it writes again."""
        await contacts.mark_unreachable(self._redis, contact.id, reason)

    async def sent(self, message: OutboundMessage) -> None:
        """Remember the buttons ``message`` offered, so that a reply "2" presses the second."""
        if message.buttons:
            offered = [(button.label, button.payload) for button in message.buttons]
            await wechat_buttons.offer(self._redis, message.recipient.id, offered)
