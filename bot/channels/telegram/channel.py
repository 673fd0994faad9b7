"""The Telegram channel: receives by long polling or webhook, sends through the flood-safe sender.

Private chats are customers (and owners). In group chats only owners' commands
and button presses are taken; everything else there is dropped before dispatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.routing import BaseRoute
from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot import redact
from bot.channels.base import ChannelStartError
from bot.channels.tasks import TaskTracker
from bot.channels.telegram.commands import publish_menus
from bot.channels.telegram.parsing import ALLOWED_UPDATES, CHANNEL, Incoming, Notice, parse_update
from bot.channels.telegram.polling import Poller
from bot.channels.telegram.sender import Stopped, TelegramSender
from bot.channels.telegram.webhook import ACK_WAIT_S, WebhookEndpoint, derived_secret
from bot.dispatcher import Finishing, Receive
from bot.messages import EventSink, MessageKind, OutboundMessage, Refused, SendCheck
from bot.outbox import item_id
from bot.redact import scrub_error
from bot.roles import Roles
from config.i18n import Templates
from config.settings import Settings
from storage import contacts, keys, outbox, send_claims
from storage.leases import Lease
from storage.timestamps import Clock, utc_now

log = logging.getLogger(__name__)

BLOCKED_REASON = "telegram: {reason}"
POLL_TIMEOUT_S = 5
"""``getUpdates`` long-poll timeout; the polling lease is renewed before each call."""
LEASE_TTL_S = 15.0
"""A dead poller's (or webhook holder's) lease lapses this long after its last renewal."""
GROUP_KINDS = frozenset({MessageKind.COMMAND, MessageKind.BUTTON})


class TelegramChannel:
    """A Telegram bot as a Shopbot channel (see :class:`bot.channels.base.Channel`)."""

    name = CHANNEL
    finishing = Finishing(keep_replies=True)
    """Replies wait behind the flood limiter: kept in the durable outbox until settled."""

    def __init__(
        self,
        *,
        bot: Bot,
        redis: Redis,
        settings: Settings,
        receive: Receive,
        roles: Roles,
        templates: Templates,
        events: EventSink,
        clock: Clock = utc_now,
        sender: TelegramSender | None = None,
        poller_timeout_s: int = POLL_TIMEOUT_S,
        ack_wait_s: float = ACK_WAIT_S,
    ) -> None:
        redact.install(settings.secret_values)
        self.bot = bot
        self.redis = redis
        self.settings = settings
        self.receive = receive
        self.roles = roles
        self.templates = templates
        self.events = events
        self.clock = clock
        self.sender = sender or TelegramSender(bot, redis)
        self.sender.on_blocked = self._report_blocked
        bot_id = bot.token.partition(":")[0]  # the bot's public user id, not the secret part
        self.poller = Poller(
            bot,
            self.accept,
            timeout_s=poller_timeout_s,
            lease=Lease(redis, keys.telegram_poller(bot_id), LEASE_TTL_S),
        )
        self.webhook_lease = Lease(redis, keys.telegram_webhook_holder(bot_id), LEASE_TTL_S)
        """Held while this process serves the webhook, so pollers leave it alone."""
        self.webhook_secret = settings.telegram_webhook_secret or derived_secret(bot.token)
        """The ``secret_token`` registered with Telegram (configured, or derived from the token)."""
        self.tasks = TaskTracker(CHANNEL)
        self.webhook = WebhookEndpoint(
            bot, self.webhook_secret, self.accept, self.tasks.spawn, ack_wait_s=ack_wait_s
        )
        self._polling: asyncio.Task[None] | None = None
        self._keeping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Check the token, publish the command menus, then poll or register the webhook."""
        try:
            await self.bot.initialize()
        except (InvalidToken, NetworkError) as exc:
            raise ChannelStartError(
                f"telegram: cannot log in with SHOPBOT_TELEGRAM_TOKEN: {scrub_error(exc)}"
            ) from None
        await publish_menus(self.bot, self.templates, self.roles.owners, self.settings.language)
        url = self.settings.telegram_webhook_url
        if url:
            await self.webhook_lease.hold()
            await self.bot.set_webhook(
                url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
            self._keeping = asyncio.create_task(self._keep_webhook_lease(), name="telegram-hook")
            log.info("telegram webhook registered at %s", url)
            return
        self._polling = asyncio.create_task(self._poll_once_free(), name="telegram-polling")
        log.info("telegram long polling started as @%s", self.bot.username)

    async def stop_receiving(self) -> None:
        """Stop polling (confirming what was handled) and finish the updates taken."""
        if self._polling is not None:
            self.poller.stop()
            await asyncio.gather(self._polling, return_exceptions=True)
            self._polling = None
        await self.wait_idle()
        if self._keeping is not None:
            self._keeping.cancel()
            await asyncio.gather(self._keeping, return_exceptions=True)
            self._keeping = None
            with contextlib.suppress(RedisError):  # it expires by itself
                await self.webhook_lease.release()

    async def _poll_once_free(self) -> None:
        """Long-poll, once no live process serves this bot's webhook.

        A webhook that a live process serves is left alone (``getUpdates`` would only
        get 409 Conflict); one that nobody serves is stale and is deleted, or polling
        could never start.
        """
        announced = False
        while await self._webhook_served_elsewhere():
            if not announced:
                log.warning("telegram: another process serves this bot's webhook; standing by")
                announced = True
            if await self.poller.pause(LEASE_TTL_S / 3):
                return
        await self.bot.delete_webhook()
        await self.poller.run()

    async def _webhook_served_elsewhere(self) -> bool:
        try:
            return await self.webhook_lease.held_by_other()
        except RedisError as exc:
            log.info("telegram: cannot tell who serves the webhook yet: %s", exc)
            return True

    async def _keep_webhook_lease(self) -> None:
        """Renew the webhook lease while this process serves the webhook."""
        while True:
            await asyncio.sleep(LEASE_TTL_S / 3)
            try:
                await self.webhook_lease.hold()
            except RedisError as exc:
                log.info("could not renew the telegram webhook lease: %s", exc)

    async def stop(self) -> None:
        """Stop polling, finish in-flight updates and queued messages, close the client."""
        await self.stop_receiving()
        await self.sender.close()
        await self.bot.shutdown()

    async def wait_idle(self) -> None:
        """Wait until every update taken so far is handled and its replies are out."""
        await self.tasks.drain()

    async def check(self, message: OutboundMessage) -> SendCheck:
        """Refuses contacts marked unreachable (they blocked the bot); no side effects."""
        if message.recipient.channel != CHANNEL:
            return SendCheck(False, f"{message.recipient} is not a telegram contact")
        profile = await contacts.get(self.redis, message.recipient.id)
        if profile is not None and profile.unreachable:
            return SendCheck(False, profile.unreachable)
        return SendCheck(True, via="bot_api")

    async def send(self, message: OutboundMessage) -> None:
        """Deliver within the flood limits, or raise :class:`DeliveryError` (:class:`Refused`
        when :meth:`check` does not allow it)."""
        verdict = await self.check(message)
        if not verdict.allowed:
            raise Refused(verdict.reason)
        await self.sender.send(message)

    def routes(self) -> Sequence[BaseRoute]:
        """``POST /telegram`` (only answered in webhook mode: it needs the secret)."""
        return (self.webhook.route(),)

    async def accept(self, update: Update) -> None:
        """Take one update, polled or from the webhook: dispatch a message and queue its
        replies (not waiting for them to go out), or report a notice to the event sink.

        Raises :data:`bot.dispatcher.StorageUnavailable` when Redis is unreachable,
        so the caller leaves the update unconfirmed.
        """
        match parse_update(update, self.clock()):
            case Incoming() as incoming:
                await self._dispatch(incoming)
            case Notice(message=message):
                await self.events.record(message)

    async def _dispatch(self, incoming: Incoming) -> None:
        if incoming.in_group and not await self._accepts_in_group(incoming):
            return
        result = await self.receive(incoming.message)
        if result.duplicate:
            return
        if incoming.callback_query_id:
            self.tasks.spawn(self._answer_callback(incoming.callback_query_id))
        self._queue_replies(result.replies)

    async def _accepts_in_group(self, incoming: Incoming) -> bool:
        addressed = incoming.addressed_to
        if addressed and addressed.lower() != (self.bot.username or "").lower():
            return False
        return incoming.message.kind in GROUP_KINDS and await self.roles.is_owner(
            incoming.message.contact
        )

    def _queue_replies(self, replies: Iterable[OutboundMessage]) -> None:
        pending = [(reply, self.sender.enqueue(reply)) for reply in replies]
        if pending:
            self.tasks.spawn(self._settle_replies(pending))

    async def _settle_replies(
        self, pending: list[tuple[OutboundMessage, asyncio.Future[None]]]
    ) -> None:
        """Settle each reply in the durable outbox once its send is settled. One held by
        another sender, or left unsent when the bot stopped, stays for the recovery job."""
        outcomes = await asyncio.gather(*(done for _, done in pending), return_exceptions=True)
        settled = []
        for (reply, _), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, send_claims.Held | Stopped):
                continue
            if isinstance(outcome, BaseException):
                log.warning("telegram reply to %s not delivered: %s", reply.recipient, outcome)
            if reply.idempotency_key:
                settled.append(item_id(reply))
        await outbox.settle(self.redis, settled)

    async def _answer_callback(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("could not answer telegram callback query %s: %s", query_id, exc)

    async def _report_blocked(self, message: OutboundMessage, reason: str) -> None:
        reason_text = BLOCKED_REASON.format(reason=reason.removeprefix("Forbidden: "))
        await self.events.unreachable(message.recipient, reason_text)


def build_bot(settings: Settings) -> Bot:
    """The Bot API client: a pooled connection for sending, a separate one for long polling."""
    if not settings.telegram_token:
        raise ValueError("SHOPBOT_TELEGRAM_TOKEN is not set")
    return Bot(
        settings.telegram_token,
        base_url=settings.telegram_base_url,
        request=HTTPXRequest(connection_pool_size=64, pool_timeout=30.0),
        get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=10.0),
    )


def telegram_channel(
    settings: Settings,
    *,
    redis: Redis,
    receive: Receive,
    roles: Roles,
    templates: Templates,
    events: EventSink,
    clock: Clock,
) -> TelegramChannel | None:
    """The channel when ``SHOPBOT_TELEGRAM_TOKEN`` is set, else None."""
    if not settings.telegram_token:
        return None
    _quiet_http_logs()
    return TelegramChannel(
        bot=build_bot(settings),
        redis=redis,
        settings=settings,
        receive=receive,
        roles=roles,
        templates=templates,
        events=events,
        clock=clock,
    )


def _quiet_http_logs() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
