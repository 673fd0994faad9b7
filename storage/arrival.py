"""A message's arrival: one round trip that claims it and reads what its handlers need.

In one pipeline: the dedupe claim (:mod:`storage.dedupe`), the contact's touch and tag
names (:mod:`storage.contacts`), the frequent-writer record (:mod:`storage.activity`),
and the caller's own reads (the sender's role, the handlers' preloads), passed in as
steps on the pipeline. A duplicate's touch only refreshes what the first copy wrote;
its message count is the caller's to add once the claim is known to be ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from redis.asyncio.client import Pipeline

from storage import activity, contacts, dedupe
from storage.batch import Queued, Reader
from storage.contacts import Contact

R = TypeVar("R")
K = TypeVar("K")

Step = Callable[[Pipeline], Queued[R]]
"""A read queued on the arrival's pipeline (see :mod:`storage.batch`)."""


@dataclass(frozen=True, slots=True)
class Arriving:
    """The message that arrives, as the round trip needs it."""

    channel: str
    message_id: str
    contact_id: str
    received_at: datetime
    now: datetime
    token: str
    """The dispatch's dedupe token (:func:`storage.tokens.new_token`)."""
    dedupe_ttl_s: int
    activity_window: timedelta
    """How far back the frequent-writer count looks."""
    display_name: str | None = None
    language: str | None = None
    """The language the message was written in, None when unknown."""
    is_event: bool = False
    """Platform events (a follow, a menu click) are not counted as messages written."""


@dataclass(frozen=True, slots=True)
class Arrival(Generic[R, K]):
    """What the arrival round trip read, for a message that is no duplicate."""

    contact: Contact
    tags: frozenset[str]
    recent_messages: int
    """The contact's messages within the activity window, this one included (0 for events)."""
    role: R
    preloaded: dict[K, Any]


def queue_arrival(
    pipe: Pipeline, arriving: Arriving, role: Step[R], preloads: Mapping[K, Step[Any]]
) -> Reader[Arrival[R, K] | None]:
    """Queue the arrival on ``pipe``; the reader gives None when the message is a duplicate."""
    claim = dedupe.queue_claim(
        pipe, arriving.channel, arriving.message_id, arriving.dedupe_ttl_s, arriving.token
    )
    touched = contacts.queue_touch(
        pipe,
        arriving.contact_id,
        arriving.received_at,
        display_name=arriving.display_name,
        language=arriving.language,
    )
    tags = contacts.queue_tag_names(pipe, arriving.contact_id)
    recent = None if arriving.is_event else _queue_activity(pipe, arriving)
    looked_up = role(pipe)
    preloaded = {key: preload(pipe) for key, preload in preloads.items()}

    def read(results: Sequence[Any]) -> Arrival[R, K] | None:
        if not claim.result(results):
            return None
        return Arrival(
            touched.result(results),
            tags.result(results),
            recent.result(results) if recent else 0,
            looked_up.result(results),
            {key: step.result(results) for key, step in preloaded.items()},
        )

    return read


def _queue_activity(pipe: Pipeline, arriving: Arriving) -> Queued[int]:
    return activity.queue_record(
        pipe, arriving.contact_id, arriving.message_id, arriving.now, arriving.activity_window
    )
