"""Sending to WeChat users under the customer-service window rules.

Inside the window (:mod:`bot.channels.wechat.window`): ``message/custom/send``.
Outside it: a transactional message (or a reply) becomes a template message when
one is configured for its purpose; marketing is never sent. Every attempt's
decision and reason is recorded on the contact (:mod:`storage.send_decisions`).
WeChat's 45015 (window over) and 45047 (quota spent) update the window and fall
back to the outside-window rule instead of retrying the same call. A message with
an ``idempotency_key`` goes out at most once per contact (:func:`storage.send_claims.send_once`).

A picture follows its text inside the window, as a message of its own (one more send
of the window's quota): a customer's WeChat photo, voice or video forwarded with the
same ``media_id``, or a chart file uploaded as temporary media first. The text names
the picture, so a picture that cannot follow (no quota left, an upload refused, media
from another platform) is recorded on the contact and the message still counts as sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.channels.wechat.client import OUT_OF_COUNT, OUT_OF_TIME, WeChatApi, WeChatApiError
from bot.channels.wechat.parsing import CHANNEL
from bot.channels.wechat.text import render_text
from bot.messages import (
    DeliveryError,
    EventSink,
    MediaKind,
    OutboundMessage,
    Purpose,
    Refused,
    SendCheck,
)
from config.wechat import TemplateSpec
from storage import contacts, send_claims, send_decisions, wechat_window
from storage.send_decisions import SendDecision
from storage.timestamps import Clock

UNSUBSCRIBED = 43004
"""WeChat: the user does not follow the account (any more)."""
_WINDOW_ERRORS = {
    OUT_OF_TIME: ("the customer-service window is over (WeChat 45015)", wechat_window.close),
    OUT_OF_COUNT: ("the window's message quota is spent (WeChat 45047)", wechat_window.exhaust),
}


NOT_CONFIGURED = "WeChat AppID and AppSecret are not configured"


class WeChatSender:
    """Decides how (and whether) a message may go out, sends it and records why."""

    def __init__(
        self,
        *,
        redis: Redis,
        api: WeChatApi | None,
        templates: Mapping[str, TemplateSpec],
        shop_name: str,
        timezone: ZoneInfo,
        clock: Clock,
        events: EventSink,
    ) -> None:
        self._redis = redis
        self._api = api
        self._templates = dict(templates)
        self._shop_name = shop_name
        self._tz = timezone
        self._clock = clock
        self._events = events

    @property
    def _client(self) -> WeChatApi:
        """The API client; without one :meth:`check` refuses every message first."""
        if self._api is None:
            raise DeliveryError(NOT_CONFIGURED)
        return self._api

    async def check(self, message: OutboundMessage) -> SendCheck:
        """Whether ``message`` may be sent now, and how (``custom`` or ``template``)."""
        if self._api is None:
            return SendCheck(False, NOT_CONFIGURED)
        contact = await contacts.get(self._redis, message.recipient.id)
        if contact is not None and contact.unreachable:
            return SendCheck(False, f"the contact cannot be reached: {contact.unreachable}")
        window = await wechat_window.get(self._redis, message.recipient.id)
        if window is not None and window.is_open(self._clock()):
            return SendCheck(True, "inside the customer-service window", via="custom")
        return self._outside_window(message.purpose, "outside the customer-service window")

    async def send(self, message: OutboundMessage) -> None:
        """Send once (per idempotency key), or raise :class:`DeliveryError` saying why not
        (:class:`Refused` when the window rules do not allow it).

        A call WeChat did not answer in time raises :class:`storage.send_claims.Uncertain`
        (it may have been delivered; it is not sent again).
        """
        await send_claims.send_once(
            self._redis,
            message.recipient.id,
            message.idempotency_key,
            partial(self._send, message),
            clock=self._clock,
        )

    async def _send(self, message: OutboundMessage) -> None:
        check = await self.check(message)
        if check.allowed and check.via == "custom":
            if await wechat_window.consume(self._redis, message.recipient.id, self._clock()):
                refusal = await self._send_custom(message)
                if refusal is None:
                    return await self._record(message, check)
            else:
                refusal = "the customer-service window closed meanwhile"
            check = self._outside_window(message.purpose, refusal)
        if not check.allowed:
            await self._record(message, check)
            raise Refused(check.reason)
        msgid = await self._send_template(message)
        await self._record(message, SendCheck(True, f"{check.reason} (msgid {msgid})", "template"))

    def _outside_window(self, purpose: Purpose, why: str) -> SendCheck:
        if purpose is Purpose.MARKETING:
            return SendCheck(False, f"{why}: marketing is not sent")
        if self._template_for(purpose) is None:
            return SendCheck(False, f"{why}: no template message configured for {purpose}")
        return SendCheck(True, f"{why}: sent as a template message", via="template")

    def _template_for(self, purpose: Purpose) -> TemplateSpec | None:
        return self._templates.get(purpose.value) or self._templates.get("transactional")

    async def _send_custom(self, message: OutboundMessage) -> str | None:
        """Send through the customer-service API; the refusal reason if the window was shut."""
        contact_id = message.recipient.id
        try:
            await self._client.send_text(message.target_chat, render_text(message))
        except WeChatApiError as exc:
            if exc.errcode in _WINDOW_ERRORS:
                reason, update_window = _WINDOW_ERRORS[exc.errcode]
                await update_window(self._redis, contact_id)
                return reason
            if not exc.uncertain:  # It may have been delivered: the quota may be spent.
                await wechat_window.refund(self._redis, contact_id)
            await self._failed(message, "custom", exc)
        await self._events.sent(message)
        await self._send_picture(message)
        return None

    async def _send_picture(self, message: OutboundMessage) -> None:
        """The message's picture after its text, when there is one WeChat can show."""
        picture = _picture(message)
        if picture is None:
            return
        kind, source = picture
        contact_id = message.recipient.id
        if not await wechat_window.consume(self._redis, contact_id, self._clock()):
            await self._record(message, SendCheck(False, f"{kind} not sent: no window quota left"))
            return
        try:
            media_id = (
                source if isinstance(source, str) else await self._client.upload_image(source)
            )
            await self._client.send_media(message.target_chat, kind, media_id)
        except (WeChatApiError, OSError) as exc:  # OSError: the chart file could not be read
            await wechat_window.refund(self._redis, contact_id)
            await self._record(message, SendCheck(False, f"{kind} send failed: {exc}", "custom"))

    async def _send_template(self, message: OutboundMessage) -> str:
        spec = self._template_for(message.purpose)
        if spec is None:  # _outside_window allowed the template route only with a template
            raise DeliveryError(f"no template message configured for {message.purpose}")
        now = self._clock().astimezone(self._tz)
        data = spec.render(
            text=render_text(message), shop_name=self._shop_name, date=f"{now:%Y-%m-%d %H:%M}"
        )
        try:
            return await self._client.send_template(
                message.target_chat, spec.template_id, data, spec.url
            )
        except WeChatApiError as exc:
            await self._failed(message, "template", exc)

    async def _failed(self, message: OutboundMessage, via: str, exc: WeChatApiError) -> NoReturn:
        if exc.uncertain:
            await self._record(message, SendCheck(False, f"{via} send uncertain: {exc}", via))
            raise send_claims.Uncertain(f"WeChat did not answer in time ({via})") from exc
        if exc.errcode == UNSUBSCRIBED:
            await self._events.unreachable(message.recipient, "unsubscribed")
        await self._record(message, SendCheck(False, f"{via} send failed: {exc}", via))
        raise DeliveryError(str(exc)) from exc

    async def _record(self, message: OutboundMessage, check: SendCheck) -> None:
        decision = SendDecision(
            at=self._clock(),
            purpose=message.purpose.value,
            allowed=check.allowed,
            via=check.via,
            reason=check.reason,
        )
        await send_decisions.record(self._redis, message.recipient.id, decision)


_WECHAT_KINDS = {MediaKind.PHOTO: "image", MediaKind.VOICE: "voice", MediaKind.VIDEO: "video"}


def has_picture(message: OutboundMessage) -> bool:
    """True when ``message`` carries a picture WeChat shows (it then needs the API, not a
    passive reply)."""
    return _picture(message) is not None


def _picture(message: OutboundMessage) -> tuple[str, str | Path] | None:
    """``(WeChat message type, media_id or file to upload)``, or None when WeChat cannot show it."""
    attachment = message.attachment
    if attachment is not None and attachment.channel == CHANNEL:
        kind = _WECHAT_KINDS.get(attachment.kind)
        return (kind, attachment.ref) if kind else None
    if message.image:
        return "image", Path(message.image)
    return None
