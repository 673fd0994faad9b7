"""WeChat events worth showing on a contact: menu links opened, QR scans, template results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage import keys
from storage.replies import texts
from storage.timestamps import from_epoch, to_epoch

KEEP = 50


@dataclass(frozen=True, slots=True)
class WeChatEvent:
    """One recorded event: its name (``view``, ``scan``, ``template_result``) and detail."""

    at: datetime
    name: str
    detail: str


async def record(redis: Redis, contact_id: str, name: str, detail: str, at: datetime) -> None:
    """Remember an event, keeping the newest :data:`KEEP`."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_record(pipe, contact_id, name, detail, at)
        await pipe.execute()


def queue_record(pipe: Pipeline, contact_id: str, name: str, detail: str, at: datetime) -> None:
    """:func:`record` as commands queued on ``pipe`` (e.g. a handler's deferred write)."""
    item = json.dumps({"at": to_epoch(at), "name": name, "detail": detail}, ensure_ascii=False)
    key = keys.wechat_events(contact_id)
    pipe.lpush(key, item)
    pipe.ltrim(key, 0, KEEP - 1)


async def recent(redis: Redis, contact_id: str, limit: int = 10) -> list[WeChatEvent]:
    """The contact's latest events, newest first."""
    raw = texts(await redis.lrange(keys.wechat_events(contact_id), 0, limit - 1))
    return [
        WeChatEvent(from_epoch(item["at"]), item["name"], item["detail"])
        for item in map(json.loads, raw)
    ]
