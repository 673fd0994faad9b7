"""The owner console: slash commands for owners and staff, audited, in the owner's language.

:class:`OwnerCommands` is a responder. It claims command messages from owners
and staff only; for anyone else it returns False, so a customer who types
``/tag`` gets the ordinary customer answer and learns nothing about the
console. The one exception is a command marked ``public`` (``/claim``), which
may decline by returning False.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.context import Context, TagMirror
from bot.messages import InboundMessage, MessageKind, parse_command
from config.catalog import Catalog, default_catalog
from config.i18n import normalize_language
from handlers.console.refs import ReferenceResolver
from storage import audit
from storage.orders import OrderListener
from storage.staff import Role

log = logging.getLogger(__name__)

_CJK = re.compile(r"[\u3400-\u9fff]")
PASSTHROUGH = frozenset({"start"})
"""Commands an owner may send that are not the console's (the welcome, for one)."""


class Refusal(Exception):
    """Stop a command and answer with template ``key`` (and ``fields``)."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


ContactSection = Callable[[str, "Call"], Awaitable[str | None]]
"""Adds a section to ``/contact`` (e.g. open tickets): given the contact id, text or None."""


@dataclass(frozen=True, slots=True)
class ConsoleServices:
    """What commands need besides the message: catalogue, order listeners, hooks."""

    catalog: Catalog
    order_listeners: Iterable[OrderListener] = ()
    contact_sections: Sequence[ContactSection] = ()
    refs: ReferenceResolver = field(default_factory=ReferenceResolver)
    tag_mirror: TagMirror | None = None
    """Copies owner tags to the platform's user tags (WeChat), when configured."""


@dataclass
class Call:
    """One command invocation: who, what, in which language; ``target`` goes to the audit."""

    message: InboundMessage
    ctx: Context
    command: Command
    typed: str
    args: str
    language: str
    services: ConsoleServices
    console: OwnerCommands
    target: str | None = None
    audit_detail: str | None = None
    """What the audit log records as the detail; None: the arguments as typed."""
    audited: bool = True
    """False when the command wrote its own audit entry (``/forget``: the erasure's)."""

    @property
    def actor(self) -> str:
        """The contact id of whoever typed the command."""
        return self.ctx.ref.id

    @property
    def now(self) -> datetime:
        """The dispatcher's clock."""
        return self.ctx.now

    def render(self, key: str, **fields: Any) -> str:
        """A template in the owner's language."""
        return self.ctx.templates.render(
            key, self.language, shop_name=self.ctx.settings.shop_name, **fields
        )

    def reply(self, key: str, **fields: Any) -> None:
        """Answer the owner with a template."""
        self.ctx.reply(self.render(key, **fields))

    def when(self, moment: datetime | None) -> str:
        """A time in the shop's time zone, or a dash."""
        if moment is None:
            return "-"
        return moment.astimezone(self.ctx.settings.tz).strftime("%Y-%m-%d %H:%M")

    def money(self, amount: float) -> str:
        """An amount with the shop's currency sign."""
        return f"{self.ctx.settings.currency}{amount:,.2f}"

    def usage(self) -> Refusal:
        """The refusal that shows this command's usage."""
        return Refusal("console_usage", usage=self.render(self.command.help_key))


CommandRun = Callable[[Call], Awaitable[bool | None]]
"""A command body; returns False only to decline (public commands), else None."""


@dataclass(frozen=True, slots=True)
class Command:
    """A console command: its name, aliases, body, the help template, who may run it."""

    name: str
    run: CommandRun
    help_key: str
    aliases: tuple[str, ...] = ()
    owners_only: bool = False
    public: bool = False
    audit_args: bool = True
    """False for a command whose arguments are a secret (``/claim``): they stay out of the audit."""

    @property
    def names(self) -> tuple[str, ...]:
        """The name and every alias."""
        return (self.name, *self.aliases)

    def allowed(self, role: Role) -> bool:
        """True if ``role`` may run it."""
        return role is Role.OWNER or (role is Role.STAFF and not self.owners_only) or self.public


class OwnerCommands:
    """The responder behind every console command; see the module docstring."""

    def __init__(self, commands: Iterable[Command], services: ConsoleServices) -> None:
        self.commands = tuple(commands)
        self.services = services
        self._by_name = {name: command for command in self.commands for name in command.names}

    async def __call__(self, message: InboundMessage, ctx: Context) -> bool:
        parsed = _command_of(message)
        if parsed is None:
            return False
        typed, args = parsed
        command = self._by_name.get(typed)
        if command is None:
            return self._unknown(typed, message, ctx)
        if not (ctx.is_owner or command.public):
            return False
        language = _language(typed, message, ctx)
        call = Call(message, ctx, command, typed, args, language, self.services, self)
        if not command.allowed(ctx.role):
            call.reply("console_owners_only", command=typed)
            await self._audit(call, "denied")
            return True
        try:
            if await command.run(call) is False:
                return False
        except Refusal as refusal:
            call.reply(refusal.key, **refusal.fields)
        if call.audited:
            detail = args if command.audit_args else ""
            await self._audit(call, detail if call.audit_detail is None else call.audit_detail)
        return True

    def for_role(self, role: Role) -> list[Command]:
        """The commands ``role`` may run, in order (for ``/help``)."""
        return [command for command in self.commands if command.allowed(role)]

    def _unknown(self, typed: str, message: InboundMessage, ctx: Context) -> bool:
        if not ctx.is_owner or typed in PASSTHROUGH:
            return False
        language = _language(typed, message, ctx)
        text = ctx.templates.render("console_unknown", language, command=typed)
        ctx.reply(text)
        return True

    async def _audit(self, call: Call, detail: str) -> None:
        await audit.record(
            call.ctx.redis, call.actor, call.command.name, call.target, detail, call.now
        )


def _command_of(message: InboundMessage) -> tuple[str, str] | None:
    """``(name, args)`` of a command message; a typed ``/x`` in a text message counts too."""
    match message.kind:
        case MessageKind.COMMAND if message.command:
            return message.command.lower(), (message.payload or "").strip()
        case MessageKind.TEXT:
            return parse_command(message.text)
        case _:
            return None


def _language(typed: str, message: InboundMessage, ctx: Context) -> str:
    """A Chinese alias means Chinese; else the app's language; else the text's (``ctx``)."""
    if _CJK.search(typed):
        return "zh-CN"
    return normalize_language(message.language_hint) or ctx.language


def default_services(**overrides: Any) -> ConsoleServices:
    """Services with the shipped catalogue, unless overridden."""
    return ConsoleServices(**({"catalog": default_catalog()} | overrides))
