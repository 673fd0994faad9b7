"""The command menus Telegram shows: one for customers, one in each owner's private chat."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScope, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.messages import ContactRef
from config.i18n import Templates

log = logging.getLogger(__name__)

CUSTOMER_COMMANDS = ("start",)
OWNER_COMMANDS = (
    "help",
    "tickets",
    "reply",
    "done",
    "contact",
    "find",
    "tag",
    "order",
    "faq",
)
"""The owner console's everyday commands (the full list is in ``/help``)."""
MENU_LANGUAGES = (("zh", "zh-CN"), ("en", "en"))
"""Telegram language codes with a menu of their own, and our language for each."""


def menu(names: Iterable[str], templates: Templates, language: str) -> list[BotCommand]:
    """Bot commands with their descriptions in ``language``."""
    return [
        BotCommand(name, templates.text(f"telegram_command_{name}", language)) for name in names
    ]


async def publish_menus(
    bot: Bot,
    templates: Templates,
    owners: Iterable[ContactRef],
    default_language: str,
) -> None:
    """Set the customers' menu (default scope) and each Telegram owner's (their chat).

    A failure (an owner who never opened the bot, say) is logged and skipped.
    """
    scopes: list[tuple[BotCommandScope, tuple[str, ...]]] = [
        (BotCommandScopeDefault(), CUSTOMER_COMMANDS)
    ]
    scopes += [
        (BotCommandScopeChat(int(owner.external_id)), (*CUSTOMER_COMMANDS, *OWNER_COMMANDS))
        for owner in owners
        if owner.channel == "telegram" and owner.external_id.lstrip("-").isdigit()
    ]
    for scope, names in scopes:
        for code, language in (("", default_language), *MENU_LANGUAGES):
            commands = menu(names, templates, language)
            try:
                await bot.set_my_commands(commands, scope=scope, language_code=code or None)
            except TelegramError as exc:
                log.warning("could not set the telegram command menu for %s: %s", scope, exc)
                break
