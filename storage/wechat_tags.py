"""Which WeChat user tag id stands for which contact tag, per Official Account.

WeChat assigns a tag id when a tag is created; the mirror keeps the mapping
here so each tag is created once and later calls go straight to tagging.
"""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis

from storage import keys
from storage.contacts import TagSource, tags_of
from storage.replies import hash_fields, maybe_text, texts

WECHAT = "wechat"


async def tag_id(redis: Redis, app_id: str, name: str) -> int | None:
    """The WeChat tag id known for ``name``, or None."""
    raw = maybe_text(await redis.hget(keys.wechat_tag_ids(app_id), name))
    return int(raw) if raw is not None else None


async def remember(redis: Redis, app_id: str, ids: Mapping[str, int]) -> None:
    """Record tag name -> WeChat tag id pairs."""
    if ids:
        await redis.hset(keys.wechat_tag_ids(app_id), mapping=hash_fields(ids))


async def forget(redis: Redis, app_id: str, name: str) -> None:
    """Drop a tag id WeChat no longer knows (deleted in the back office)."""
    await redis.hdel(keys.wechat_tag_ids(app_id), name)


async def owner_tagged_openids(redis: Redis) -> dict[str, list[str]]:
    """Owner tag -> openids of the WeChat contacts carrying it (for a full re-sync)."""
    members = sorted(texts(await redis.smembers(keys.contacts_by_channel(WECHAT))))
    by_tag: dict[str, list[str]] = {}
    for contact_id in members:
        for name, info in (await tags_of(redis, contact_id)).items():
            if info.source is TagSource.OWNER:
                by_tag.setdefault(name, []).append(contact_id.partition(":")[2])
    return by_tag
