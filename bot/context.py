"""What a handler gets besides the message: the contact, language, services and an outbox.

Handlers may import this module and :mod:`bot.messages`; nothing else from ``bot``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.messages import (
    Attachment,
    Button,
    ContactRef,
    InboundMessage,
    OutboundMessage,
    Purpose,
)
from config.i18n import Templates
from config.settings import Settings
from storage.batch import Queued
from storage.contacts import Contact
from storage.staff import Role

T = TypeVar("T")

Preload = Callable[[Pipeline, InboundMessage], Queued[T]]
"""A read a handler needs for most messages, queued on the message's arrival round trip.

The dispatcher runs its preloads together with the contact's touch; a handler
gets the value with :meth:`Context.load`.
"""


@dataclass
class Outbox:
    """The messages one dispatch produces, in order; the channel sends them."""

    messages: list[OutboundMessage] = field(default_factory=list)

    def add(self, message: OutboundMessage) -> None:
        """Queue a message."""
        self.messages.append(message)

    def clear(self) -> None:
        """Drop everything queued (the error boundary does, before apologising)."""
        self.messages.clear()


@dataclass
class Context:
    """Per-message state and services handed to observers and responders."""

    message: InboundMessage
    contact: Contact
    language: str
    is_owner: bool
    now: datetime
    redis: Redis
    settings: Settings
    templates: Templates
    owners: tuple[ContactRef, ...]
    outbox: Outbox = field(default_factory=Outbox)
    role: Role = Role.CUSTOMER
    """The sender's role; ``is_owner`` is True for owners and staff (may use the console)."""
    tags: frozenset[str] = frozenset()
    """The sender's tag names when the message arrived, plus those handlers added since."""
    recent_messages: int = 0
    """The sender's messages within ``frequent_writer_days``, this one included (0 for events)."""
    deferred: list[Callable[[Pipeline], object]] = field(default_factory=list)
    """Writes queued with :meth:`defer`."""
    preloaded: dict[Preload[Any], Any] = field(default_factory=dict)
    """What the dispatcher's preloads read on arrival, by preload."""

    async def load(self, preload: Preload[T]) -> T:
        """What ``preload`` reads for this message.

        Read on arrival when the dispatcher runs that preload (no round trip of
        its own), else read now.
        """
        if preload in self.preloaded:
            # The dispatcher stored what this very preload read: its value is a T.
            value: T = self.preloaded[preload]
            return value
        async with self.redis.pipeline(transaction=False) as pipe:
            step = preload(pipe, self.message)
            results = await pipe.execute()
        return step.result(results)

    def defer(self, write: Callable[[Pipeline], object]) -> None:
        """Queue a write whose reply no handler needs (a counter, say).

        ``write`` queues its commands on a pipeline; the dispatcher sends every
        deferred write in one round trip once the handlers are done.
        """
        self.deferred.append(write)

    @property
    def ref(self) -> ContactRef:
        """The sender."""
        return self.message.contact

    def render(self, key: str, **fields: Any) -> str:
        """A template in the sender's language; ``shop_name`` is always available."""
        return self.templates.render(
            key, self.language, shop_name=self.settings.shop_name, **fields
        )

    def reply(
        self,
        text: str,
        *,
        buttons: tuple[Button, ...] = (),
        purpose: Purpose = Purpose.REPLY,
    ) -> None:
        """Answer the sender in the chat the message came from."""
        self.outbox.add(
            OutboundMessage(
                recipient=self.ref,
                text=text,
                purpose=purpose,
                buttons=buttons,
                chat_id=self.message.chat_id,
            )
        )

    def send(self, recipient: ContactRef, text: str, *, purpose: Purpose, **extra: Any) -> None:
        """Send to someone other than the sender (a customer from an owner, say)."""
        self.outbox.add(OutboundMessage(recipient=recipient, text=text, purpose=purpose, **extra))

    def notify_owners(self, text: str, *, attachment: Attachment | None = None) -> None:
        """Tell every owner, each on their own channel (with a customer's media, if given)."""
        for owner in self.owners:
            if owner != self.ref:
                self.send(owner, text, purpose=Purpose.TRANSACTIONAL, attachment=attachment)


Observer = Callable[[InboundMessage, Context], Awaitable[None]]
"""Runs for every message (tagging, counters); its return value is ignored."""

Responder = Callable[[InboundMessage, Context], Awaitable[bool]]
"""Returns True when it claimed the message; the first one that does wins."""


class TagMirrorFailure(StrEnum):
    """Why a contact tag could not be mirrored to the platform's own user tags."""

    ACCOUNT_LIMIT = "account_limit"
    USER_LIMIT = "user_limit"
    NAME_TOO_LONG = "name_too_long"
    NOT_FOLLOWER = "not_follower"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class TagProblem:
    """A tag that was not mirrored for some contacts, and why."""

    tag: str
    reason: TagMirrorFailure
    contact_ids: tuple[str, ...] = ()


class TagMirror(Protocol):
    """Copies contact tags to a platform's user tags (WeChat); given to the console."""

    async def mirror(
        self, contact_id: str, added: Sequence[str], removed: Sequence[str]
    ) -> list[TagProblem]:
        """Add and remove tags on the contact's platform account; returns what failed."""
        ...
