"""One inbound message for the dispatcher, answered within WeChat's 5-second rule.

The dispatch runs as a tracked task; the request waits for it up to the reply
budget. Its first reply goes back passively, the others through the
customer-service API. If the budget runs out first, the request answers
``success`` and the task sends every reply through the API when it is done.
Which of the two happened is decided once, in Redis (:mod:`storage.wechat_answers`),
so every copy of a retried message - concurrent or later, in any process -
answers the same way, and the message itself is handled once (dispatcher dedupe).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot import metrics
from bot.channels.tasks import TaskTracker
from bot.channels.wechat.sender import WeChatSender, has_picture
from bot.channels.wechat.text import render_text
from bot.channels.wechat.window import grant_for
from bot.dispatcher import DispatchResult, Finishing, Receive
from bot.messages import EventSink, InboundMessage, MessageKind
from bot.outbox import kept, send_kept
from storage import batch, outbox, wechat_answers, wechat_buttons, wechat_window
from storage.batch import Queued
from storage.timestamps import Clock


@dataclass(frozen=True, slots=True)
class _Outcome:
    duplicate: bool = False
    passive: str | None = None


class InboundProcessor:
    """Turns a message to dispatch into this request's passive answer (None = ``success``)."""

    def __init__(
        self,
        *,
        redis: Redis,
        receive: Receive,
        sender: WeChatSender,
        events: EventSink,
        clock: Clock,
        budget_s: float,
        tasks: TaskTracker,
    ) -> None:
        self._redis = redis
        self._receive = receive
        self._sender = sender
        self._events = events
        self._clock = clock
        self._budget_s = budget_s
        self._tasks = tasks
        self.finishing = Finishing(step=self._open_window_and_decide)
        """Registered for the channel: its value is ``DispatchResult.finished``."""

    async def answer(self, message: InboundMessage, started: float) -> str | None:
        """The passive reply for this copy of the message; ``started`` is loop time at arrival.

        Raises the dispatcher's ``StorageUnavailable`` when Redis is down, so that
        the route answers 503 and WeChat retries.
        """
        loop, deadline = asyncio.get_running_loop(), started + self._budget_s
        message = await self._pressed_button(message)
        task = self._tasks.spawn(self._process(message))
        done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
        contact_id = message.contact.id
        if task not in done:
            metrics.WECHAT_BUDGET_MISSED.inc()
            # Out of time: answer `success`, unless the reply was decided just now.
            _, stored = await wechat_answers.decide(self._redis, contact_id, message.id, None)
            return stored
        outcome = task.result()
        if not outcome.duplicate:
            return outcome.passive
        left = max(0.0, deadline - loop.time())
        _, stored = await wechat_answers.wait(self._redis, contact_id, message.id, left)
        return stored

    async def _process(self, message: InboundMessage) -> _Outcome:
        result = await self._receive(message)
        if result.duplicate:
            return _Outcome(duplicate=True)
        replies = result.replies
        won, first = result.finished
        if won and replies:
            await self._events.sent(replies[0])
        # A first reply with a picture goes through the customer-service API, text and
        # picture in order: a passive answer carries text only.
        later = replies[1:] if won and first is not None else replies
        if later:
            self._tasks.spawn(send_kept(self._redis, self._sender.send, later))
        return _Outcome(passive=first if won else None)

    def _open_window_and_decide(
        self, pipe: Pipeline, result: DispatchResult
    ) -> Queued[tuple[bool, str | None]]:
        """Open the window the message grants and offer our passive answer.

        The channel's finishing step, queued on the dispatch's last round trip. The
        window opens before any reply goes through the customer-service API (those
        are sent after this). The step's value: whether our answer is the passive
        one, and it.

        The replies that go through the customer-service API are kept in the durable
        outbox in the same round trip: all but the first, and the first too when our
        answer is not the passive one (decided by the same script).
        """
        message, replies = result.message, result.replies
        first = render_text(replies[0]) if replies and not has_picture(replies[0]) else None
        contact_id, grant = message.contact.id, grant_for(message)
        keep_first = kept(replies[0]) if replies else None
        now = self._clock()

        def commands(pipe: Pipeline) -> None:
            if grant is not None:
                wechat_window.queue_open(pipe, contact_id, now, grant.quota, grant.duration)
            outbox.queue_keep(pipe, map(kept, replies[1:]), now)
            wechat_answers.queue_decide(
                pipe, contact_id, message.id, first, keep=keep_first, now=now
            )

        return batch.queue(
            pipe, commands, lambda replies: (wechat_answers.decided(replies[-1])[0], first)
        )

    async def _pressed_button(self, message: InboundMessage) -> InboundMessage:
        text = message.text.strip()
        if message.kind is not MessageKind.TEXT or not text.isdigit() or len(text) > 2:
            return message
        pressed = await wechat_buttons.pressed(self._redis, message.contact.id, int(text))
        if pressed is None:
            return message
        label, payload = pressed
        return dataclasses.replace(message, kind=MessageKind.BUTTON, text=label, payload=payload)
