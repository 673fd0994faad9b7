"""The ``python -m bot`` command line. Each command lives in ``bot/commands/``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot import redact
from bot.commands import (
    chat,
    export,
    faq,
    followups,
    forget,
    imports,
    migrate_keys,
    run,
    wechat_tags,
)
from bot.logs import configure_logging
from config.settings import SettingsError, load_settings

COMMANDS = (run, chat, faq, imports, export, followups, forget, wechat_tags, migrate_keys)
EXIT_BAD_SETTINGS = 2


def build_parser() -> argparse.ArgumentParser:
    """The parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Shopbot: customer service for online shops on WeChat and Telegram.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, load settings, run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    redact.install(settings.secret_values)
    quiet = args.command != "run"  # other commands print results; logs would clutter them
    configure_logging(logging.WARNING if quiet else settings.log_level, settings.log_format)
    try:
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
