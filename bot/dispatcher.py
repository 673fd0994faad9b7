"""The one path every inbound message takes, whatever its channel.

arrive (claim the message, touch the contact, read its tags, role and preloads, in one
round trip: :mod:`storage.arrival`) -> handlers (the observers, then the first responder
that claims it, inside one error boundary) -> commit (the handlers' deferred writes, the
durable outbox items and the channel's finishing step, in one round trip); the replies
come back in a :class:`DispatchResult`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot import outbox
from bot.context import Context, Observer, Preload, Responder
from bot.messages import ContactRef, InboundMessage, MessageKind, OutboundMessage
from bot.roles import Roles
from config.i18n import Templates, detect_language, normalize_language
from config.settings import Settings
from storage import arrival, contacts, dedupe, tokens
from storage import outbox as stored_outbox
from storage.arrival import Arrival, Arriving, Step
from storage.batch import Coalescer, Queued, Reader
from storage.staff import Role
from storage.timestamps import Clock, utc_now

log = logging.getLogger(__name__)

StorageUnavailable = (RedisError,)
"""Raised out of :meth:`Dispatcher.dispatch` on any Redis error (unreachable, a
read-only replica, out of memory, NOSCRIPT, ...): the message was not handled, and
the channel should let the platform redeliver it. None becomes an apology."""


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What one dispatch produced. ``duplicate`` means the message was already handled."""

    message: InboundMessage
    outbound: tuple[OutboundMessage, ...] = ()
    duplicate: bool = False
    finished: Any = None
    """What the channel's finishing step returned (None without one, or for a duplicate)."""

    @property
    def replies(self) -> tuple[OutboundMessage, ...]:
        """Messages back to the chat the message came from."""
        return tuple(m for m in self.outbound if self._is_reply(m))

    @property
    def others(self) -> tuple[OutboundMessage, ...]:
        """Messages to anyone else (owner notifications, relayed answers)."""
        return tuple(m for m in self.outbound if not self._is_reply(m))

    def _is_reply(self, outbound: OutboundMessage) -> bool:
        return (
            outbound.recipient == self.message.contact
            and outbound.target_chat == self.message.chat_id
        )


Finish = Callable[[Pipeline, DispatchResult], Queued[Any]]
"""A channel's own step that depends on the replies (WeChat: decide the passive answer)."""

Receive = Callable[[InboundMessage], Awaitable[DispatchResult]]
"""How a channel hands a message to the bot (:meth:`bot.app.Runtime.receive`)."""


@dataclass(frozen=True, slots=True)
class Finishing:
    """How one channel's messages end their dispatch; registered once per channel.

    ``keep_replies`` keeps the replies in the durable outbox too: the channel sends
    them later and settles them there (Telegram: they wait behind the flood limiter).
    ``step`` is queued on the dispatch's last round trip, once the replies are known;
    its value is ``DispatchResult.finished``.
    """

    keep_replies: bool = False
    step: Finish | None = None


_Arrival = Arrival[tuple[Role, tuple[ContactRef, ...]], Preload[Any]]


class Dispatcher:
    """Routes an :class:`InboundMessage` through observers and responders."""

    def __init__(
        self,
        *,
        redis: Redis,
        settings: Settings,
        templates: Templates,
        roles: Roles,
        observers: Sequence[Observer],
        responders: Sequence[Responder],
        preloads: Sequence[Preload[Any]] = (),
        clock: Clock = utc_now,
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.templates = templates
        self.roles = roles
        self.observers = tuple(observers)
        self.responders = tuple(responders)
        self.preloads = tuple(preloads)
        self._round_trips = Coalescer(redis)
        self._finishing: dict[str, Finishing] = {}
        self.clock = clock

    def finish_with(self, channel: str, finishing: Finishing) -> None:
        """End the dispatch of ``channel``'s messages the channel's way (the app calls this
        once, when it adds the channel); without it, replies are only returned."""
        self._finishing[channel] = finishing

    async def dispatch(self, message: InboundMessage) -> DispatchResult:
        """Handle ``message`` once; a repeat of its id returns ``duplicate=True``.

        A handler's error is logged and the customer gets an apology. A Redis error is
        not caught (whatever it is): the claim is released (best effort) and the error
        propagates, so the platform redelivers the message.
        """
        token = tokens.new_token()
        try:
            ctx = await self._arrive(message, token)
            if ctx is None:
                log.info("duplicate message from %s ignored", message.contact)
                return DispatchResult(message, duplicate=True)
            await self._handle(message, ctx)
            return await self._commit(ctx)
        except StorageUnavailable:
            with suppress(*StorageUnavailable):
                await dedupe.release(self.redis, message.contact.channel, message.id, token)
            raise

    async def _arrive(self, message: InboundMessage, token: str) -> Context | None:
        """Claim the message, touch its contact and read its tags, role and preloads in
        one round trip (:mod:`storage.arrival`); None when the message is a duplicate."""
        now, language = self.clock(), _language_of(message)
        arriving = Arriving(
            channel=message.contact.channel,
            message_id=message.id,
            contact_id=message.contact.id,
            received_at=message.received_at,
            now=now,
            token=token,
            dedupe_ttl_s=self.settings.dedupe_ttl_s,
            activity_window=timedelta(days=self.settings.frequent_writer_days),
            display_name=message.display_name,
            language=language,
            is_event=message.kind is MessageKind.EVENT,
        )
        role = partial(self.roles.queue_lookup, contact=message.contact)
        preloads = {preload: _bound(preload, message) for preload in self.preloads}
        found = await self._round_trips.run(
            lambda pipe: arrival.queue_arrival(pipe, arriving, role, preloads)
        )
        return None if found is None else self._context(message, found, language, now)

    async def _handle(self, message: InboundMessage, ctx: Context) -> None:
        try:
            for observe in self.observers:
                await observe(message, ctx)
            for respond in self.responders:
                if await respond(message, ctx):
                    log.debug("%s claimed a message from %s", _name(respond), message.contact)
                    return
        except StorageUnavailable:
            raise
        except Exception:
            log.exception("handler failed on a message from %s", message.contact)
            ctx.outbox.clear()
            ctx.reply(ctx.render("apology"))

    async def _commit(self, ctx: Context) -> DispatchResult:
        """In one round trip: the handlers' deferred writes (the message count among them),
        the durable outbox items (:mod:`bot.outbox`) and the channel's finishing step."""
        message = ctx.message
        finishing = self._finishing.get(message.contact.channel, Finishing())
        outbound = outbox.keyed(ctx.outbox.messages, f"msg:{message.contact.channel}:{message.id}")
        result = DispatchResult(message, outbound)
        durable = [*result.others, *(result.replies if finishing.keep_replies else ())]

        def queue(pipe: Pipeline) -> Reader[Any]:
            for write in ctx.deferred:
                write(pipe)
            stored_outbox.queue_keep(pipe, map(outbox.kept, durable), ctx.now)
            step = finishing.step(pipe, result) if finishing.step else None
            return step.result if step else lambda results: None

        return replace(result, finished=await self._round_trips.run(queue))

    def _context(
        self, message: InboundMessage, found: _Arrival, language: str | None, now: datetime
    ) -> Context:
        """The handlers' context; the message is counted once the claim is known ours."""
        contact, (role, owners) = found.contact, found.role
        ctx = Context(
            message=message,
            contact=replace(contact, message_count=contact.message_count + 1),
            language=language or contact.language or self.settings.language,
            is_owner=role.may_use_console,
            now=now,
            redis=self.redis,
            settings=self.settings,
            templates=self.templates,
            owners=owners,
            role=role,
            tags=found.tags,
            recent_messages=found.recent_messages,
            preloaded=found.preloaded,
        )
        ctx.defer(lambda pipe: contacts.count_message(pipe, message.contact.id))
        return ctx


def _language_of(message: InboundMessage) -> str | None:
    """The language ``message`` is written in: detected in its text, else the platform's hint."""
    # A command's name is Latin whatever the sender speaks: "/start" says nothing.
    spoken = message.text if message.kind is not MessageKind.COMMAND else ""
    return detect_language(spoken) or normalize_language(message.language_hint)


def _bound(preload: Preload[Any], message: InboundMessage) -> Step[Any]:
    return lambda pipe: preload(pipe, message)


def _name(handler: object) -> str:
    return getattr(handler, "__name__", type(handler).__name__)
