"""Who runs the shop besides the configured owners: staff, and owners who claimed the shop.

Staff are added and removed by an owner. A claimed owner used the one-time
claim code that ``python -m bot run`` prints when no owner is configured; only
the code's SHA-256 is stored, for an hour, and redeeming it deletes it in the same
script. Once anybody has claimed the shop, no code is accepted any more.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from redis.asyncio import Redis

from storage import keys
from storage.replies import texts

CLAIM_CODE_BYTES = 9
CLAIM_CODE_TTL_S = 3600
"""A claim code expires one hour after it is printed."""

_REDEEM = """
if redis.call('SCARD', KEYS[2]) > 0 then return 0 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SADD', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


class Role(StrEnum):
    """What a person may do: run the shop (owner), help run it (staff), or be served."""

    OWNER = "owner"
    STAFF = "staff"
    CUSTOMER = "customer"

    @property
    def may_use_console(self) -> bool:
        """Owners and staff may use the owner commands."""
        return self is not Role.CUSTOMER


async def add_staff(redis: Redis, contact_id: str) -> bool:
    """Make ``contact_id`` staff; False if it already was."""
    return bool(await redis.sadd(keys.staff(), contact_id))


async def remove_staff(redis: Redis, contact_id: str) -> bool:
    """Remove ``contact_id`` from staff; False if it was not staff."""
    return bool(await redis.srem(keys.staff(), contact_id))


async def staff_members(redis: Redis) -> list[str]:
    """Every staff contact id, sorted."""
    return sorted(texts(await redis.smembers(keys.staff())))


async def is_staff(redis: Redis, contact_id: str) -> bool:
    """True for a staff member."""
    return bool(await redis.sismember(keys.staff(), contact_id))


async def claimed_owners(redis: Redis) -> list[str]:
    """Contact ids that became owners with the claim code, sorted."""
    return sorted(texts(await redis.smembers(keys.claimed_owners())))


async def new_claim_code(redis: Redis, ttl_s: int = CLAIM_CODE_TTL_S) -> str:
    """A fresh one-time claim code, valid ``ttl_s``; it replaces any earlier one.

    Only its hash is stored.
    """
    code = secrets.token_urlsafe(CLAIM_CODE_BYTES)
    await redis.set(keys.claim_code(), _digest(code), ex=ttl_s)
    return code


async def discard_claim_code(redis: Redis) -> None:
    """Forget any pending claim code (the shop has an owner)."""
    await redis.delete(keys.claim_code())


async def has_claim_code(redis: Redis) -> bool:
    """True while a claim code waits to be redeemed."""
    return bool(await redis.exists(keys.claim_code()))


async def redeem_claim_code(redis: Redis, code: str, contact_id: str) -> bool:
    """Make ``contact_id`` an owner if ``code`` is the pending claim code; the code is spent.

    Refused (False) once the shop has a claimed owner, whatever the code.
    """
    if not code.strip():
        return False
    redeemed = await redis.eval(
        _REDEEM, 2, keys.claim_code(), keys.claimed_owners(), _digest(code.strip()), contact_id
    )
    return bool(redeemed)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
