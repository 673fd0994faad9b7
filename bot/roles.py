"""Who may run the shop: the owners named in settings, and the terminal owner."""

from __future__ import annotations

from bot.messages import ContactRef
from config.settings import Settings

CONSOLE_OWNER = ContactRef("console", "owner")
"""``python -m bot chat --owner`` speaks as this contact, an owner by definition."""


class Roles:
    """Answers "is this person an owner?" and lists the owners to notify."""

    def __init__(self, settings: Settings) -> None:
        configured = tuple(ContactRef.parse(owner) for owner in settings.owners)
        self._owners = (*configured, CONSOLE_OWNER)

    @property
    def owners(self) -> tuple[ContactRef, ...]:
        """Everyone who receives owner notifications."""
        return self._owners

    async def is_owner(self, contact: ContactRef) -> bool:
        """True for an owner (async: staff and claimed owners will live in Redis)."""
        return contact in self._owners
