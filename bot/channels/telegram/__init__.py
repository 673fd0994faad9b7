"""The Telegram channel (python-telegram-bot's ``Bot`` as the HTTP client).

Modules: ``parsing`` (updates -> InboundMessage), ``rendering`` (OutboundMessage ->
sendMessage calls), ``limiter`` (flood limits), ``sender`` (ordered, retried,
idempotent sending), ``polling``, ``webhook`` (``POST /telegram``), ``commands``
(the command menus) and ``channel`` (all of it behind the Channel protocol).
"""

from bot.channels.telegram.channel import TelegramChannel, build_bot, telegram_channel

__all__ = ["TelegramChannel", "build_bot", "telegram_channel"]
