"""The owner console: every owner and staff command, assembled into one responder.

Add a command group by passing its :class:`Command` objects as ``extra``
(tickets, FAQ editing); they get ``/help``, role checks and the audit for free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.context import TagMirror
from config.catalog import Catalog, default_catalog
from handlers.console import contact_commands, order_commands, staff_commands
from handlers.console.framework import (
    Call,
    Command,
    ConsoleServices,
    ContactSection,
    OwnerCommands,
    Refusal,
)
from handlers.console.refs import ReferenceResolver, ReplyLookup
from storage.orders import OrderListener

__all__ = [
    "Call",
    "Command",
    "ConsoleServices",
    "ContactSection",
    "OwnerCommands",
    "ReferenceResolver",
    "Refusal",
    "ReplyLookup",
    "build_console",
]


def build_console(
    *,
    catalog: Catalog | None = None,
    order_listeners: Iterable[OrderListener] = (),
    contact_sections: Sequence[ContactSection] = (),
    reply_lookup: ReplyLookup | None = None,
    extra: Iterable[Command] = (),
    tag_mirror: TagMirror | None = None,
) -> OwnerCommands:
    """The console responder with every built-in command plus ``extra``.

    ``order_listeners`` is read at each order change, so a registry that is
    subscribed to later (``handlers.orders.OrderEvents``) works. ``tag_mirror``
    copies ``/tag`` and ``/untag`` to WeChat user tags (None: no mirroring).
    """
    services = ConsoleServices(
        catalog=catalog or default_catalog(),
        order_listeners=order_listeners,
        contact_sections=tuple(contact_sections),
        refs=ReferenceResolver(reply_lookup),
        tag_mirror=tag_mirror,
    )
    commands = (
        staff_commands.HELP,
        *contact_commands.COMMANDS,
        *order_commands.COMMANDS,
        *extra,
        *staff_commands.COMMANDS,
    )
    return OwnerCommands(commands, services)
