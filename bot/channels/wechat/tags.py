"""Owner tags mirrored to the Official Account's user tags, so the back office shows them.

A tag is created on WeChat the first time it is used and its id kept in Redis
(:mod:`storage.wechat_tags`); users are tagged 50 openids per call. WeChat's
limits (100 tags per account, 20 per user, 30 bytes per name) come back as
:class:`~bot.context.TagProblem` values the console tells the owner about; a
mirroring failure never undoes the tag in Shopbot.

Only owner tags are mirrored (``/tag``, ``/untag``, ``python -m bot wechat-tags
sync``). Automatic tags are not: there are many of them (language, intents, FAQ
tags), they would use up the 100 tags and 20 per user the owner's own tags need,
and the API calls would eat into WeChat's 5-second reply budget with no owner
there to hear about a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from redis.asyncio import Redis

from bot.channels.wechat.channel import api_from_settings
from bot.channels.wechat.client import WeChatApi, WeChatApiError
from bot.channels.wechat.parsing import CHANNEL
from bot.context import TagMirrorFailure, TagProblem
from config.settings import Settings
from storage import wechat_tags

log = logging.getLogger(__name__)

OPENIDS_PER_CALL = 50
NAME_EXISTS = 45157
INVALID_TAG_ID = 45159
USER_LIMIT = 45059
FAILURES = {
    45056: TagMirrorFailure.ACCOUNT_LIMIT,  # more than 100 tags on the account
    USER_LIMIT: TagMirrorFailure.USER_LIMIT,  # a user would carry more than 20 tags
    45158: TagMirrorFailure.NAME_TOO_LONG,  # more than 30 bytes
    40003: TagMirrorFailure.NOT_FOLLOWER,  # invalid openid: unfollowed or another account's
}


class WeChatTagMirror:
    """:class:`bot.context.TagMirror` for WeChat contacts; other contacts are left alone."""

    def __init__(self, api: WeChatApi, redis: Redis, app_id: str) -> None:
        self._api = api
        self._redis = redis
        self._app_id = app_id

    async def mirror(
        self, contact_id: str, added: Sequence[str], removed: Sequence[str]
    ) -> list[TagProblem]:
        """Tag and untag one WeChat contact; returns the tags that were not mirrored."""
        channel, _, openid = contact_id.partition(":")
        if channel != CHANNEL:
            return []
        problems: list[TagProblem] = []
        for tag in added:
            problems += await self.tag_users(tag, [openid])
        for tag in removed:
            problems += await self.untag_users(tag, [openid])
        return problems

    async def tag_users(self, tag: str, openids: Sequence[str]) -> list[TagProblem]:
        """Put ``tag`` on users, creating it on WeChat if new; 50 openids per call."""
        return await self._change(tag, openids, add=True)

    async def untag_users(self, tag: str, openids: Sequence[str]) -> list[TagProblem]:
        """Take ``tag`` off users (nothing to do if it was never mirrored)."""
        return await self._change(tag, openids, add=False)

    async def _change(self, tag: str, openids: Sequence[str], *, add: bool) -> list[TagProblem]:
        try:
            tag_id = await self._tag_id(tag, create=add)
        except WeChatApiError as exc:
            return [_problem(tag, openids, exc)]
        if tag_id is None:  # never mirrored: nothing to take off
            return []
        problems: list[TagProblem] = []
        for batch in _batches(openids):
            try:
                tag_id = await self._change_batch(tag, tag_id, batch, add=add)
            except WeChatApiError as exc:
                problems += await self._one_by_one(tag, tag_id, batch, exc, add=add)
        return _grouped(problems)

    async def _one_by_one(
        self, tag: str, tag_id: int, batch: list[str], error: WeChatApiError, *, add: bool
    ) -> list[TagProblem]:
        """After a batch refused for one user's 20 tags, tag the others and name who failed."""
        if len(batch) == 1 or error.errcode != USER_LIMIT:
            return [_problem(tag, batch, error)]
        problems = []
        for openid in batch:
            try:
                await self._members(tag_id, [openid], add=add)
            except WeChatApiError as exc:
                problems.append(_problem(tag, [openid], exc))
        return problems

    async def _change_batch(self, tag: str, tag_id: int, openids: list[str], *, add: bool) -> int:
        """Tag or untag one batch; returns the tag id (new if the tag had to be re-created)."""
        try:
            await self._members(tag_id, openids, add=add)
            return tag_id
        except WeChatApiError as exc:
            if exc.errcode != INVALID_TAG_ID:
                raise
        log.info("WeChat tag %r (%s) is gone; looking it up again", tag, tag_id)
        await wechat_tags.forget(self._redis, self._app_id, tag)
        fresh = await self._tag_id(tag, create=add)
        if fresh is not None:
            await self._members(fresh, openids, add=add)
        return fresh if fresh is not None else tag_id

    async def _members(self, tag_id: int, openids: list[str], *, add: bool) -> None:
        if add:
            await self._api.call(lambda client: client.tag.tag_user(tag_id, openids))
        else:
            await self._api.call(lambda client: client.tag.untag_user(tag_id, openids))

    async def _tag_id(self, tag: str, *, create: bool) -> int | None:
        """The cached id; else WeChat's (created when ``create``, looked up otherwise)."""
        known = await wechat_tags.tag_id(self._redis, self._app_id, tag)
        if known is not None:
            return known
        if not create:
            return (await self._refresh()).get(tag)
        try:
            created = await self._api.call(lambda client: client.tag.create(tag))
        except WeChatApiError as exc:
            if exc.errcode != NAME_EXISTS:
                raise
            # Made in the back office, or by another process just now: look it up.
            existing = (await self._refresh()).get(tag)
            if existing is None:
                raise
            return existing
        await wechat_tags.remember(self._redis, self._app_id, {tag: int(created["id"])})
        return int(created["id"])

    async def _refresh(self) -> dict[str, int]:
        """Every tag on the account, remembered."""
        listed = await self._api.call(lambda client: client.tag.get())
        ids = {item["name"]: int(item["id"]) for item in listed}
        await wechat_tags.remember(self._redis, self._app_id, ids)
        return ids


def wechat_tag_mirror(settings: Settings, redis: Redis) -> WeChatTagMirror | None:
    """The mirror when the WeChat channel and its API credentials are configured, else None."""
    if not settings.wechat_token:
        return None
    api, app_id = api_from_settings(settings, redis), settings.wechat_app_id
    if api is None or app_id is None:  # no API without an app id
        return None
    return WeChatTagMirror(api, redis, app_id)


def _batches(openids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(openids), OPENIDS_PER_CALL):
        yield list(openids[start : start + OPENIDS_PER_CALL])


def _problem(tag: str, openids: Sequence[str], error: WeChatApiError) -> TagProblem:
    reason = FAILURES.get(error.errcode or 0, TagMirrorFailure.UNAVAILABLE)
    if reason is TagMirrorFailure.UNAVAILABLE:
        log.warning("WeChat tag %r not mirrored: %s", tag, error)
    return TagProblem(tag, reason, tuple(f"{CHANNEL}:{openid}" for openid in openids))


def _grouped(problems: list[TagProblem]) -> list[TagProblem]:
    """One problem per tag and reason, naming every contact it concerns."""
    contacts: dict[tuple[str, TagMirrorFailure], list[str]] = {}
    for problem in problems:
        contacts.setdefault((problem.tag, problem.reason), []).extend(problem.contact_ids)
    return [TagProblem(tag, reason, tuple(ids)) for (tag, reason), ids in contacts.items()]
