"""Roles: configured, terminal and claimed owners, staff, customers; the claim code."""

from __future__ import annotations

from bot.messages import ContactRef
from bot.roles import CONSOLE_OWNER, Role, Roles
from storage import keys, staff


async def test_roles_from_settings_and_redis(redis, settings):
    roles = Roles(settings, redis)
    await staff.add_staff(redis, "wechat:oStaff")
    code = await staff.new_claim_code(redis)
    assert await staff.redeem_claim_code(redis, code, "wechat:oBoss")
    expected = {
        ContactRef("telegram", "1"): Role.OWNER,
        CONSOLE_OWNER: Role.OWNER,
        ContactRef("wechat", "oBoss"): Role.OWNER,
        ContactRef("wechat", "oStaff"): Role.STAFF,
        ContactRef("wechat", "oNobody"): Role.CUSTOMER,
    }
    assert {ref: await roles.role_of(ref) for ref in expected} == expected
    assert not await roles.is_owner(ContactRef("wechat", "oStaff"))
    assert await roles.owners_to_notify() == (
        ContactRef("telegram", "1"),
        CONSOLE_OWNER,
        ContactRef("wechat", "oBoss"),
    )


async def test_claim_code_is_offered_only_while_nobody_owns_the_shop(redis, settings):
    assert await Roles(settings, redis).offer_claim_code() is None, "owners are configured"
    ownerless = Roles(settings.model_copy(update={"owners": ()}), redis)
    first = await ownerless.offer_claim_code()
    second = await ownerless.offer_claim_code()
    assert first and second and first != second
    assert not await staff.redeem_claim_code(redis, first, "telegram:9"), "replaced by the second"
    assert await staff.redeem_claim_code(redis, f" {second} ", "telegram:9")
    assert not await staff.has_claim_code(redis)
    assert await ownerless.offer_claim_code() is None, "the shop has an owner now"
    stored = await redis.keys(f"{keys.scope()}:roles:*")
    assert stored == [keys.claimed_owners()], "only the hash was ever stored, and it is gone"


async def test_claim_code_expires_after_an_hour(redis, settings):
    ownerless = Roles(settings.model_copy(update={"owners": ()}), redis)
    await ownerless.offer_claim_code()
    assert 3590 < await redis.ttl(keys.claim_code()) <= 3600


async def test_a_code_left_over_is_deleted_once_owners_are_configured(redis, settings):
    code = await Roles(settings.model_copy(update={"owners": ()}), redis).offer_claim_code()
    assert await Roles(settings, redis).offer_claim_code() is None
    assert not await staff.has_claim_code(redis)
    assert not await staff.redeem_claim_code(redis, code, "telegram:9")


async def test_a_code_left_over_is_deleted_once_someone_claimed(redis, settings):
    ownerless = Roles(settings.model_copy(update={"owners": ()}), redis)
    await staff.redeem_claim_code(redis, await ownerless.offer_claim_code(), "telegram:9")
    await redis.set(keys.claim_code(), "left-over-digest")
    assert await ownerless.offer_claim_code() is None
    assert not await staff.has_claim_code(redis)
