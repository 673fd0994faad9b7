"""Who may run the shop: configured owners, claimed owners, staff, and the terminal owner."""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.messages import ContactRef
from config.settings import Settings
from storage import batch, keys, staff
from storage.batch import Queued
from storage.staff import Role

CONSOLE_OWNER = ContactRef("console", "owner")
"""``python -m bot chat --owner`` speaks as this contact, an owner by definition."""

__all__ = ["CONSOLE_OWNER", "Role", "Roles"]


class Roles:
    """Answers "what may this person do?" and lists the owners to notify.

    Owners are those in ``SHOPBOT_OWNERS``, the terminal owner, and (with
    ``redis``) whoever redeemed the claim code. Staff live in Redis too; without
    ``redis`` there are neither staff nor claimed owners.
    """

    def __init__(self, settings: Settings, redis: Redis | None = None) -> None:
        self._configured = tuple(ContactRef.parse(owner) for owner in settings.owners)
        self._owners = (*self._configured, CONSOLE_OWNER)
        self._redis = redis

    @property
    def owners(self) -> tuple[ContactRef, ...]:
        """The owners known without Redis: configured ones and the terminal owner."""
        return self._owners

    @property
    def has_configured_owner(self) -> bool:
        """True when ``SHOPBOT_OWNERS`` names at least one owner."""
        return bool(self._configured)

    async def owners_to_notify(self) -> tuple[ContactRef, ...]:
        """Configured, claimed and terminal owners: everyone who gets owner notifications."""
        claimed = await staff.claimed_owners(self._redis) if self._redis is not None else []
        return self._with_claimed(claimed)

    async def role_of(self, contact: ContactRef) -> Role:
        """The person's role; claimed owners and staff are looked up in Redis."""
        role, _ = await self.role_and_owners(contact)
        return role

    async def role_and_owners(self, contact: ContactRef) -> tuple[Role, tuple[ContactRef, ...]]:
        """The person's role and the owners to notify, in one round trip."""
        if self._redis is None:
            return self._role(contact)
        async with self._redis.pipeline(transaction=False) as pipe:
            step = self.queue_lookup(pipe, contact)
            results = await pipe.execute()
        return step.result(results)

    def queue_lookup(
        self, pipe: Pipeline, contact: ContactRef
    ) -> Queued[tuple[Role, tuple[ContactRef, ...]]]:
        """:meth:`role_and_owners` as a step of a larger round trip (see :mod:`storage.batch`)."""

        def commands(pipe: Pipeline) -> None:
            if self._redis is not None:
                pipe.smembers(keys.claimed_owners())
                pipe.sismember(keys.staff(), contact.id)

        return batch.queue(pipe, commands, lambda replies: self._role(contact, *replies))

    def _role(
        self, contact: ContactRef, claimed: Iterable[str] = (), is_staff: int = 0
    ) -> tuple[Role, tuple[ContactRef, ...]]:
        owners = self._with_claimed(claimed)
        if contact in owners:
            return Role.OWNER, owners
        return (Role.STAFF if is_staff else Role.CUSTOMER), owners

    def _with_claimed(self, claimed: Iterable[str]) -> tuple[ContactRef, ...]:
        extra = tuple(ContactRef.parse(c) for c in sorted(claimed))
        return (*self._owners, *(ref for ref in extra if ref not in self._owners))

    async def is_owner(self, contact: ContactRef) -> bool:
        """True for an owner (configured, terminal or claimed); staff are not owners."""
        return await self.role_of(contact) is Role.OWNER

    async def offer_claim_code(self) -> str | None:
        """A fresh one-time claim code when the shop has no owner yet (else None).

        "No owner" means none in ``SHOPBOT_OWNERS`` and none claimed; the
        terminal owner does not count. Each call replaces the previous code, and
        a code left from an earlier start is deleted once the shop has an owner.
        """
        if self._redis is None:
            return None
        if self._configured or await staff.claimed_owners(self._redis):
            await staff.discard_claim_code(self._redis)
            return None
        return await staff.new_claim_code(self._redis)
