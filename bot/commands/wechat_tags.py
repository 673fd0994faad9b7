"""``python -m bot wechat-tags sync``: copy owner tags to WeChat user tags in bulk.

``/tag`` mirrors as the owner types; this catches up on tags given before WeChat
was configured, or refused earlier because a WeChat limit was hit. Every WeChat
contact's owner tags are pushed, 50 openids per call; the tags and contacts
WeChat refused are printed with the reason (exit status 1 if any).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.channels.wechat.tags import wechat_tag_mirror
from bot.commands import Subparsers
from config.settings import Settings
from storage import wechat_tags
from storage.connect import connect


def register(subparsers: Subparsers) -> None:
    """Add the ``wechat-tags`` command and its ``sync`` action."""
    parser = subparsers.add_parser("wechat-tags", help="copy owner tags to WeChat user tags")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sync = actions.add_parser("sync", help="push every WeChat contact's owner tags to WeChat")
    sync.set_defaults(func=lambda args, settings: asyncio.run(sync_tags(settings)))


async def sync_tags(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Push all owner tags of WeChat contacts; print one line per tag and per refusal."""
    async with connect(settings) as redis:
        mirror = wechat_tag_mirror(settings, redis)
        if mirror is None:
            print(
                "error: WeChat is not configured (SHOPBOT_WECHAT_TOKEN, "
                "SHOPBOT_WECHAT_APP_ID and SHOPBOT_WECHAT_APP_SECRET)",
                file=sys.stderr,
            )
            return 1
        refused_any = False
        for tag, openids in (await wechat_tags.owner_tagged_openids(redis)).items():
            problems = await mirror.tag_users(tag, openids)
            refused = sum(len(problem.contact_ids) for problem in problems)
            print(f"{tag}: {len(openids) - refused} of {len(openids)} mirrored", file=out)
            for problem in problems:
                print(
                    f"  not mirrored ({problem.reason}): {', '.join(problem.contact_ids)}", file=out
                )
            refused_any = refused_any or bool(problems)
    return 1 if refused_any else 0
