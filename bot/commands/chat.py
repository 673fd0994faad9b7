"""``python -m bot chat``: talk to the bot in the terminal, as a customer or the owner."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.app import open_runtime
from bot.channels.terminal import ChatSession, customer_ref, run_chat
from bot.commands import Subparsers
from bot.messages import ContactRef
from bot.roles import CONSOLE_OWNER
from config.settings import Settings
from storage.timestamps import utc_now

DEFAULT_CUSTOMER = "customer"


def register(subparsers: Subparsers) -> None:
    """Add the ``chat`` command."""
    parser = subparsers.add_parser(
        "chat",
        help="chat with the bot in this terminal (reads stdin; works with a pipe)",
        description="Each line you type is one message. With a pipe, replies are printed "
        "and the chat ends at EOF.",
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--as",
        dest="name",
        default=DEFAULT_CUSTOMER,
        help="which customer you are (contact console:NAME); default: customer",
    )
    who.add_argument("--owner", action="store_true", help="chat as the shop owner (console:owner)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        contact = CONSOLE_OWNER if args.owner else customer_ref(args.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(chat(settings, contact, interactive=sys.stdin.isatty()))


async def chat(settings: Settings, contact: ContactRef, *, interactive: bool) -> int:
    """Open the runtime and chat until EOF."""
    async with open_runtime(settings) as runtime:
        if interactive:
            role = "the shop owner" if contact == CONSOLE_OWNER else "a customer"
            print(f"Chatting as {contact} ({role}). Type a message; Ctrl-D to leave.")
        session = ChatSession(contact, runtime.receive, runtime.redis, sys.stdout, utc_now)
        await run_chat(session, sys.stdin, interactive=interactive)
    return 0
