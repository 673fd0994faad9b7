"""The one path every inbound message takes, whatever its channel.

dedupe -> arrival (touch the contact, record the message, read its tags and role,
in one round trip) -> observers -> the first responder that claims it, inside one
error boundary -> the handlers' deferred writes and the durable outbox items, in one
round trip; the replies come back in a :class:`DispatchResult`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot import outbox
from bot.context import Context, Observer, Preload, Responder
from bot.messages import ContactRef, InboundMessage, MessageKind, OutboundMessage
from bot.roles import Roles
from config.i18n import Templates, detect_language, normalize_language
from config.settings import Settings
from storage import activity, contacts, dedupe
from storage import outbox as stored_outbox
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
    """What the caller's ``finish`` step returned (None without one, or for a duplicate)."""

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
"""A caller's own step that depends on the replies (WeChat: decide the passive answer).

It is queued on the dispatch's last round trip, with the handlers' deferred writes.
"""


class Receive(Protocol):
    """How a channel hands a message to the bot (:meth:`bot.app.Runtime.receive`)."""

    def __call__(
        self, message: InboundMessage, *, finish: Finish | None = None, keep_replies: bool = False
    ) -> Awaitable[DispatchResult]: ...


@dataclass(frozen=True, slots=True)
class _Arrival:
    """What a message's arrival round trip read."""

    contact: contacts.Contact
    tags: frozenset[str]
    recent_messages: int
    role_and_owners: tuple[Role, tuple[ContactRef, ...]]
    preloaded: dict[Preload[Any], Any]


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
        self.clock = clock

    async def dispatch(
        self, message: InboundMessage, *, finish: Finish | None = None, keep_replies: bool = False
    ) -> DispatchResult:
        """Handle ``message`` once; a repeat of its id returns ``duplicate=True``.

        ``finish``, when given, runs on the replies in the last round trip; its
        value is ``result.finished``. Every outbound message gets an idempotency key,
        and the last round trip also keeps the messages to others (and, with
        ``keep_replies``, the replies) in the durable outbox (:mod:`bot.outbox`):
        the caller sends them and settles them there.

        Handler errors are caught here: they are logged and the customer gets an
        apology. A Redis error is not (whatever it is): the claim is released (best
        effort) and the error propagates, so the platform redelivers the message.
        """
        channel = message.contact.channel
        token = dedupe.new_token()
        try:
            ctx = await self._arrive(message, token)
            if ctx is None:
                log.info("duplicate message from %s ignored", message.contact)
                return DispatchResult(message, duplicate=True)
            await self._handle(message, ctx)
            return await self._finish(ctx, finish, keep_replies)
        except StorageUnavailable:
            with suppress(*StorageUnavailable):
                await dedupe.release(self.redis, channel, message.id, token)
            raise

    async def _handle(self, message: InboundMessage, ctx: Context) -> None:
        try:
            await self._run_handlers(message, ctx)
        except StorageUnavailable:
            raise
        except Exception:
            log.exception("handler failed on a message from %s", message.contact)
            ctx.outbox.clear()
            ctx.reply(ctx.render("apology"))

    async def _arrive(self, message: InboundMessage, token: str) -> Context | None:
        """Claim the message, touch the contact, record the message, read its tags, role
        and the preloads: one round trip. None when the message is a duplicate.

        A duplicate's touch only refreshes what the first copy wrote; its message
        count is added once the claim is known to be ours (a deferred write).
        """
        # A command's name is Latin whatever the sender speaks: "/start" says nothing.
        spoken = message.text if message.kind is not MessageKind.COMMAND else ""
        detected = detect_language(spoken) or normalize_language(message.language_hint)
        now = self.clock()
        arrival = await self._round_trips.run(
            lambda pipe: self._queue_arrival(pipe, message, detected, now, token)
        )
        if arrival is None:
            return None
        contact = arrival.contact
        role, owners = arrival.role_and_owners
        ctx = Context(
            message=message,
            contact=replace(contact, message_count=contact.message_count + 1),
            language=detected or contact.language or self.settings.language,
            is_owner=role.may_use_console,
            now=now,
            redis=self.redis,
            settings=self.settings,
            templates=self.templates,
            owners=owners,
            role=role,
            tags=arrival.tags,
            recent_messages=arrival.recent_messages,
            preloaded=arrival.preloaded,
        )
        ctx.defer(lambda pipe: contacts.count_message(pipe, message.contact.id))
        return ctx

    def _queue_arrival(
        self,
        pipe: Pipeline,
        message: InboundMessage,
        language: str | None,
        now: datetime,
        token: str,
    ) -> Reader[_Arrival | None]:
        ref = message.contact
        window = timedelta(days=self.settings.frequent_writer_days)
        ttl_s = self.settings.dedupe_ttl_s
        claim = dedupe.queue_claim(pipe, ref.channel, message.id, ttl_s, token)
        touched = contacts.queue_touch(
            pipe,
            ref.id,
            message.received_at,
            display_name=message.display_name,
            language=language,
            count=False,
        )
        tags = contacts.queue_tag_names(pipe, ref.id)
        recent = (
            activity.queue_record(pipe, ref.id, message.id, now, window)
            if message.kind is not MessageKind.EVENT
            else None
        )
        lookup = self.roles.queue_lookup(pipe, ref)
        preloaded = {preload: preload(pipe, message) for preload in self.preloads}

        def read(results: Sequence[Any]) -> _Arrival | None:
            if not claim.result(results):
                return None
            return _Arrival(
                touched.result(results),
                tags.result(results),
                recent.result(results) if recent else 0,
                lookup.result(results),
                {preload: step.result(results) for preload, step in preloaded.items()},
            )

        return read

    async def _finish(
        self, ctx: Context, finish: Finish | None, keep_replies: bool
    ) -> DispatchResult:
        """Send the handlers' deferred writes, the outbox items and the caller's finish
        step in one round trip."""
        message = ctx.message
        outbound = outbox.keyed(ctx.outbox.messages, f"msg:{message.contact.channel}:{message.id}")
        result = DispatchResult(message, outbound)
        durable = [*result.others, *(result.replies if keep_replies else ())]
        if not ctx.deferred and not durable and finish is None:
            return result

        def queue(pipe: Pipeline) -> Reader[Any]:
            for write in ctx.deferred:
                write(pipe)
            stored_outbox.queue_keep(pipe, map(outbox.kept, durable), ctx.now)
            step = finish(pipe, result) if finish is not None else None
            return step.result if step is not None else lambda results: None

        finished = await self._round_trips.run(queue)
        return replace(result, finished=finished) if finish is not None else result

    async def _run_handlers(self, message: InboundMessage, ctx: Context) -> None:
        for observe in self.observers:
            await observe(message, ctx)
        for respond in self.responders:
            if await respond(message, ctx):
                log.debug("%s claimed a message from %s", _name(respond), message.contact)
                return


def _name(handler: object) -> str:
    return getattr(handler, "__name__", type(handler).__name__)
