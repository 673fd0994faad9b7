"""Buttons offered to a WeChat contact as numbered text, so that "2" presses the second."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from storage import keys
from storage.replies import maybe_text

TTL_S = 86_400


async def offer(redis: Redis, contact_id: str, buttons: list[tuple[str, str]]) -> None:
    """Remember the ``(label, payload)`` pairs just shown, replacing older ones."""
    await redis.set(keys.wechat_buttons(contact_id), json.dumps(buttons), ex=TTL_S)


async def pressed(redis: Redis, contact_id: str, number: int) -> tuple[str, str] | None:
    """The ``(label, payload)`` numbered ``number`` (from 1), if it was offered."""
    raw = maybe_text(await redis.get(keys.wechat_buttons(contact_id)))
    offered = json.loads(raw) if raw else []
    if 1 <= number <= len(offered):
        label, payload = offered[number - 1]
        return label, payload
    return None
