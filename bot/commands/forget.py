"""``python -m bot forget [--yes] REF``: erase a contact on request (个人信息删除).

Asks for confirmation (type ``yes``) unless ``--yes`` is given. What is erased and what is
kept: ``docs/privacy.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from bot.app import open_runtime
from bot.commands import Subparsers
from bot.commands.followups import resolve_contact
from bot.roles import Roles
from config.settings import Settings
from handlers.erasure import Disk, ForgetRefused, check_forgettable, forget_contact
from storage import contacts

CLI_ACTOR = "cli"
"""Who the audit log names for an erasure from the command line."""
_REFUSALS = {
    "unknown": "no such contact",
    "role": "an owner or staff member: remove the role first (/staff del, SHOPBOT_OWNERS)",
}
_DISK = {
    Disk.REWRITTEN: "The embedded Redis rewrote its append-only file: the data is gone from disk.",
    Disk.NOT_PERSISTED: "Redis keeps no append-only file: nothing of it is on disk.",
    Disk.FAILED: (
        "The embedded Redis could not rewrite its append-only file (see redis.log in the data "
        "folder): the erased data may still be on disk until BGREWRITEAOF succeeds."
    ),
    Disk.EXTERNAL: (
        "External Redis: its append-only file, snapshots, replicas and backups may still hold "
        "the data until rewritten (BGREWRITEAOF) or expired; that is the operator's to do."
    ),
}


def register(subparsers: Subparsers) -> None:
    """Add the ``forget`` command."""
    parser = subparsers.add_parser(
        "forget",
        help="erase a contact and everything kept about them (asks first)",
        description="Erase a contact: profile, tags, notes, messages, follow-ups, ratings, "
        "their entries in every index; tickets and orders keep only what the shop's figures "
        "need, under an anonymous id. See docs/privacy.md.",
    )
    parser.add_argument("ref", help="channel:id or short id (C12)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(func=lambda args, settings: asyncio.run(forget(args, settings)))


async def forget(
    args: argparse.Namespace,
    settings: Settings,
    *,
    ask: Callable[[str], str] = input,
    out: TextIO = sys.stdout,
) -> int:
    """Resolve the contact, confirm, erase; returns the exit status."""
    async with open_runtime(settings) as runtime:
        redis = runtime.redis
        contact_id = await resolve_contact(redis, args.ref)
        owners = [owner.id for owner in await Roles(settings, redis).owners_to_notify()]
        try:
            if contact_id is None:
                raise ForgetRefused("unknown")
            await check_forgettable(redis, contact_id, owners)
        except ForgetRefused as refused:
            print(f"error: {args.ref}: {_REFUSALS[refused.reason]}", file=sys.stderr)
            return 1
        contact = await contacts.get(redis, contact_id)
        if contact is None:  # erased by someone else since the check
            print(f"error: {args.ref}: {_REFUSALS['unknown']}", file=sys.stderr)
            return 1
        name = f" {contact.display_name}" if contact.display_name else ""
        who = f"{contact.short_id}{name} ({contact.id})"
        print(f"Erase {who} and everything kept about them?", file=out)
        if not args.yes and (await asyncio.to_thread(ask, "Type yes to erase: ")).strip() != "yes":
            print("Nothing erased.", file=out)
            return 1
        now = runtime.dispatcher.clock()
        report = await forget_contact(
            redis, settings, contact_id, actor=CLI_ACTOR, now=now, owners=owners
        )
    print(f"Erased {args.ref} ({report.erasure.summary()}).", file=out)
    print(f"Orders and tickets stay as {report.erasure.anonymous_id}.", file=out)
    print(_DISK[report.disk], file=out)
    return 1 if report.disk is Disk.FAILED else 0
