"""The passive answer to one inbound WeChat message, shared by every copy WeChat sends.

WeChat retries a message it got no answer to, and copies can arrive at once (or
at different processes). The first party to decide what the passive answer is
(a reply text, or ``None`` for a bare ``success``) stores it here with ``SET NX``;
everyone else reads it, so all copies answer alike.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage import keys
from storage.outbox import Kept
from storage.replies import maybe_text, text
from storage.timestamps import to_epoch

TTL_S = 600
"""Longer than WeChat's retries of one message (three, five seconds apart)."""
POLL_S = 0.02

_DECIDE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return {1, ARGV[1]} end
return {0, redis.call('GET', KEYS[1])}
"""
# KEYS: the answer, the outbox hash and its time index (``storage.outbox``); ARGV: the
# answer, its TTL, the reply's outbox id, its encoding, now. Keys of several slots: one node.
_DECIDE_OR_KEEP = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return {1, ARGV[1]} end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
return {0, redis.call('GET', KEYS[1])}
"""


async def decide(
    redis: Redis, contact_id: str, message_id: str, answer: str | None
) -> tuple[bool, str | None]:
    """Store ``answer`` unless one is stored; returns (whether ours won, the stored answer)."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_decide(pipe, contact_id, message_id, answer)
        [outcome] = await pipe.execute()
    return decided(outcome)


def queue_decide(
    pipe: Pipeline,
    contact_id: str,
    message_id: str,
    answer: str | None,
    *,
    keep: Kept | None = None,
    now: datetime | None = None,
) -> None:
    """:func:`decide` as one command of a pipeline; read its result with :func:`decided`.

    With ``keep`` (the reply the answer renders) the same script puts it in the durable
    outbox when the answer does not win: it will go through the customer-service API.
    """
    key = keys.wechat_answer(contact_id, message_id)
    if keep is None:
        pipe.eval(_DECIDE, 1, key, json.dumps(answer), TTL_S)
        return
    if now is None:
        raise ValueError("keeping the reply needs the time it is kept at")
    outbox_keys = (keys.outbox(), keys.outbox_by_time())
    args = (json.dumps(answer), TTL_S, keep.id, keep.message, to_epoch(now))
    pipe.eval(_DECIDE_OR_KEEP, 3, key, *outbox_keys, *args)


def decided(outcome: Sequence[object]) -> tuple[bool, str | None]:
    """(whether ours won, the stored answer) from the result of :func:`queue_decide`."""
    won, stored = outcome
    return bool(won), json.loads(text(stored))


async def wait(
    redis: Redis, contact_id: str, message_id: str, timeout_s: float
) -> tuple[bool, str | None]:
    """Wait up to ``timeout_s`` for the decided answer; (False, None) if none came."""
    key = keys.wechat_answer(contact_id, message_id)
    deadline = time.monotonic() + timeout_s
    while True:
        stored = maybe_text(await redis.get(key))
        if stored is not None:
            return True, json.loads(stored)
        left = deadline - time.monotonic()
        if left <= 0:
            return False, None
        await asyncio.sleep(min(POLL_S, left))
