"""Sends messages through the Bot API within the flood limits, in order per chat.

Each chat has a FIFO queue and, while it has work, one worker task; workers
share the :class:`FloodLimiter`. A 429 pauses as Telegram asks and the same
message is tried again; a network error is retried with exponential backoff;
a 403 in a private chat is reported (``on_blocked``). A message with an
``idempotency_key`` is claimed in Redis before it is sent (:mod:`storage.send_claims`,
shared by every channel), and retries inside this sender keep that claim, so it
goes out at most once. A message split into chunks counts as sent once any chunk
went out; only when none did is the claim released. A timeout once the request was
sent is not retried: the message may have arrived, so it ends uncertain.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import httpx
from redis.asyncio import Redis
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import metrics
from bot.channels.telegram.limiter import FloodLimiter, is_group_chat
from bot.channels.telegram.rendering import Chunk, render
from bot.messages import DeliveryError, MediaKind, OutboundMessage
from storage import send_claims, tokens

log = logging.getLogger(__name__)
_T = TypeVar("_T")

REDIS_CONCURRENCY = 8
OnBlocked = Callable[[OutboundMessage, str], Awaitable[None]]
"""Called when Telegram says a private chat's user blocked the bot (403), with its reason."""


@dataclass(frozen=True, slots=True)
class TelegramRetry:
    """How often and how patiently a message is tried again."""

    network_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0
    flood_waits: int = 5
    """429 answers tolerated for one message before giving up."""

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th (0-based) network failure."""
        return min(self.backoff_cap_s, self.backoff_base_s * 2.0**attempt)


class Blocked(DeliveryError):
    """The user blocked the bot (or deleted their account)."""


class Stopped(DeliveryError):
    """The bot stopped before the message was sent (it stays in the durable outbox)."""


@dataclass
class _Job:
    message: OutboundMessage
    done: asyncio.Future[None]


class TelegramSender:
    """Queues messages per chat and delivers them within Telegram's limits."""

    def __init__(
        self,
        bot: Bot,
        redis: Redis,
        *,
        limiter: FloodLimiter | None = None,
        retry: TelegramRetry | None = None,
        on_blocked: OnBlocked | None = None,
    ) -> None:
        self.bot = bot
        self.redis = redis
        self.limiter = limiter or FloodLimiter()
        self.retry = retry or TelegramRetry()
        self.on_blocked = on_blocked
        self._queues: dict[str, deque[_Job]] = {}
        # Hundreds of chat workers must not take every Redis connection at once.
        self._redis_slots = asyncio.Semaphore(REDIS_CONCURRENCY)
        self._workers: set[asyncio.Task[None]] = set()

    def enqueue(self, message: OutboundMessage) -> asyncio.Future[None]:
        """Queue ``message`` behind earlier ones to its chat; the future settles once it is sent.

        The future's exception is a :class:`DeliveryError` when the message could not go out.
        """
        job = _Job(message, asyncio.get_running_loop().create_future())
        chat_id = message.target_chat
        if (queue := self._queues.get(chat_id)) is None:
            queue = self._queues[chat_id] = deque()
            worker = asyncio.create_task(self._work(chat_id, queue), name=f"telegram:{chat_id}")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.append(job)
        return job.done

    async def send(self, message: OutboundMessage) -> None:
        """Send ``message`` and wait until it is out; raises :class:`DeliveryError`."""
        await self.enqueue(message)

    async def close(self, grace_s: float = 10.0) -> None:
        """Let queued messages go out for up to ``grace_s`` seconds, then cancel the rest."""
        workers = set(self._workers)
        if not workers:
            return
        _, late = await asyncio.wait(workers, timeout=grace_s)
        for worker in late:
            worker.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for queue in self._queues.values():
            for job in queue:
                if not job.done.done():
                    job.done.set_exception(Stopped("the bot stopped before sending"))
        self._queues.clear()

    async def _work(self, chat_id: str, queue: deque[_Job]) -> None:
        try:
            while queue:
                job = queue[0]
                try:
                    await self._deliver(job.message)
                except Blocked as exc:
                    await self._blocked(job.message, str(exc))
                    _settle(job.done, exc)
                except (DeliveryError, send_claims.Held, send_claims.Uncertain) as exc:
                    _settle(job.done, exc)
                except Exception as exc:  # one bad message must not stop the chat's queue
                    log.exception("sending to %s failed", f"telegram:{chat_id}")
                    _settle(job.done, DeliveryError(f"unexpected error: {exc!r}"))
                else:
                    _settle(job.done, None)
                queue.popleft()
        finally:
            if self._queues.get(chat_id) is queue and not queue:
                del self._queues[chat_id]

    async def _blocked(self, message: OutboundMessage, reason: str) -> None:
        log.info("%s cannot be reached: %s", f"telegram:{message.target_chat}", reason)
        if self.on_blocked is not None and blocks_contact(message):
            await self.on_blocked(message, reason)

    async def _deliver(self, message: OutboundMessage) -> None:
        chunks = render(message)
        key = message.idempotency_key
        contact_id = message.recipient.id
        token = tokens.new_token()
        if key and not await self._claims(send_claims.claim, contact_id, key, token):
            send_claims.log_duplicate(contact_id, key)
            return
        sent = 0
        try:
            for chunk in chunks:
                await self._send_chunk(chunk)
                sent += 1
        except BaseException as exc:
            if key:
                await self._settle_claim(contact_id, key, token, sent, exc)
            raise
        if key:
            await self._claims(send_claims.confirm, contact_id, key)

    async def _settle_claim(
        self, contact_id: str, key: str, token: str, sent: int, exc: BaseException
    ) -> None:
        """A part went out: sent. None did: uncertain after a timeout, else released."""
        if sent:
            await self._claims(send_claims.confirm, contact_id, key)
        elif isinstance(exc, send_claims.Uncertain):
            await self._claims(send_claims.mark_uncertain, contact_id, key, token)
        else:
            await self._claims(send_claims.release, contact_id, key, token)

    async def _claims(self, operation: Callable[..., Awaitable[_T]], *args: str) -> _T:
        async with self._redis_slots:
            return await operation(self.redis, *args)

    async def _call(self, chunk: Chunk) -> None:
        if chunk.photo:
            await _upload(self.bot, chunk.chat_id, chunk.photo)
        elif chunk.media:
            await _forward(self.bot, chunk.chat_id, *chunk.media)
        else:
            await self.bot.send_message(chunk.chat_id, chunk.text, reply_markup=chunk.markup)

    async def _send_chunk(self, chunk: Chunk) -> None:
        network_failures = flood_waits = 0
        while True:
            await self.limiter.acquire(chunk.chat_id)
            try:
                await self._call(chunk)
                return
            except RetryAfter as exc:
                flood_waits = self._flood_wait(chunk.chat_id, exc, flood_waits)
            except Forbidden as exc:
                raise Blocked(exc.message) from exc
            except TimedOut as exc:
                if may_have_arrived(exc):
                    raise send_claims.Uncertain(f"telegram did not answer in time: {exc}") from exc
                network_failures = await self._network_failure(exc, network_failures)
            except (BadRequest, ChatMigrated) as exc:
                raise DeliveryError(f"telegram refused the message: {exc}") from exc
            except NetworkError as exc:
                network_failures = await self._network_failure(exc, network_failures)
                metrics.TELEGRAM_RETRIES.inc()
            except TelegramError as exc:
                raise DeliveryError(f"telegram error: {exc}") from exc

    def _flood_wait(self, chat_id: str, exc: RetryAfter, waits: int) -> int:
        """Pause the chat as Telegram asks (429) before the next try; the new count of waits."""
        metrics.TELEGRAM_RATE_LIMITED.inc()
        if waits + 1 > self.retry.flood_waits:
            raise DeliveryError(f"flood control kept refusing: {exc}") from exc
        seconds = retry_after_seconds(exc)
        log.warning("telegram asked to wait %.0fs (telegram:%s)", seconds, chat_id)
        self.limiter.pause(chat_id, seconds)
        metrics.TELEGRAM_RETRIES.inc()
        return waits + 1

    async def _network_failure(self, exc: NetworkError, failures: int) -> int:
        """Back off before the next try (the request never reached Telegram); the new count."""
        if failures + 1 >= self.retry.network_attempts:
            raise DeliveryError(f"network error, gave up: {exc}") from exc
        await self.limiter.timer.sleep(self.retry.backoff(failures))
        return failures + 1


async def _upload(bot: Bot, chat_id: str, path: str) -> None:
    photo = await asyncio.to_thread(Path(path).read_bytes)
    await bot.send_photo(chat_id, photo=photo)


async def _forward(bot: Bot, chat_id: str, kind: MediaKind, file_id: str) -> None:
    """Send a customer's media again by its ``file_id`` (no download, no upload)."""
    match kind:
        case MediaKind.PHOTO:
            await bot.send_photo(chat_id, photo=file_id)
        case MediaKind.VOICE:
            await bot.send_voice(chat_id, voice=file_id)
        case MediaKind.VIDEO:
            await bot.send_video(chat_id, video=file_id)
        case MediaKind.FILE:
            await bot.send_document(chat_id, document=file_id)


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


def retry_after_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, whichever type this python-telegram-bot version returns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def may_have_arrived(exc: TimedOut) -> bool:
    """A timeout after the request was sent: Telegram may have delivered the message.

    Waiting for a connection (or for one from the pool) means nothing was sent.
    """
    return not isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)


def blocks_contact(message: OutboundMessage) -> bool:
    """A 403 means the person blocked us only in their private chat, not in a group."""
    return not is_group_chat(message.target_chat)
