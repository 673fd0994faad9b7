"""``/forget <ref>`` then ``/forget <ref> confirm``, through the dispatcher (issue 13)."""

from __future__ import annotations

import pytest
from support import FIXED_NOW, make_dispatcher, send_command

from storage import audit, contacts, keys, staff, tickets

OWNER = "telegram:1"
STAFF = "telegram:2"
CUSTOMER = "wechat:oForgetMe2026"


@pytest.fixture
def say(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)

    async def send(contact: str, text: str) -> str:
        return await send_command(dispatcher, make_message, contact, text)

    return send


async def _write(redis, settings, make_message, contact: str, text: str) -> None:
    await make_dispatcher(redis, settings).dispatch(make_message(text, contact=contact))


async def test_forget_asks_then_erases_and_audits_only_the_anonymous_id(
    redis, settings, say, make_message
):
    await _write(redis, settings, make_message, OWNER, "hello")
    await _write(redis, settings, make_message, CUSTOMER, "我的电话 13912345678")
    short_id = (await contacts.get(redis, CUSTOMER)).short_id

    asked = await say(OWNER, f"/forget {CUSTOMER}")
    assert f"/forget {short_id} confirm" in asked and CUSTOMER in asked
    assert await contacts.get(redis, CUSTOMER) is not None, "nothing erased before confirming"

    done = await say(OWNER, f"/forget {CUSTOMER} confirm")

    assert done.startswith("Erased. Orders and tickets stay as erased:")
    assert "An external Redis" in done
    assert await contacts.get(redis, CUSTOMER) is None
    entries = await audit.recent(redis, 10)
    forget = [e for e in entries if e.action == "forget"]
    assert [e.actor for e in forget] == [OWNER, OWNER]
    assert forget[0].target.startswith("erased:") and "keys=" in forget[0].detail
    assert forget[1].target == forget[0].target and forget[1].detail == "erased"
    everything = "".join(str(fields) for _, fields in await redis.xrange(keys.audit_log()))
    assert "oForgetMe2026" not in everything and "13912345678" not in everything


async def test_forget_refuses_staff_owners_strangers_and_other_words(
    redis, settings, say, make_message
):
    for contact in (OWNER, STAFF, CUSTOMER):
        await _write(redis, settings, make_message, contact, "hello")
    await staff.add_staff(redis, STAFF)

    assert "remove the role first" in await say(OWNER, f"/forget {STAFF} confirm")
    assert "remove the role first" in await say(OWNER, f"/forget {OWNER} confirm")
    await _write(redis, settings, make_message, "console:owner", "hello")
    assert "remove the role first" in await say(OWNER, "/forget console:owner confirm")
    await staff.redeem_claim_code(redis, await staff.new_claim_code(redis), CUSTOMER)
    assert "remove the role first" in await say(OWNER, f"/forget {CUSTOMER} confirm")
    await redis.srem(keys.claimed_owners(), CUSTOMER)
    assert "No contact C99" in await say(OWNER, "/forget C99 confirm")
    assert "Usage" in await say(OWNER, f"/forget {CUSTOMER} yes please")
    assert "Only an owner" in await say(STAFF, f"/forget {CUSTOMER} confirm")
    assert await contacts.get(redis, CUSTOMER) is not None
    assert await contacts.get(redis, STAFF) is not None


async def test_an_erased_customers_ticket_is_closed_and_listed_without_its_text(
    redis, settings, say, make_message
):
    await _write(redis, settings, make_message, OWNER, "hello")
    await _write(redis, settings, make_message, CUSTOMER, "hi")
    ticket = await tickets.create(
        redis, contact_id=CUSTOMER, intent="return", text="坏了", language="zh-CN", now=FIXED_NOW
    )

    await say(OWNER, f"/forget {CUSTOMER} confirm")

    listed = await say(OWNER, "/tickets all")
    assert f"{ticket.id} [closed] erased:" in listed and "(contact erased)" in listed
    assert "坏了" not in listed
    assert "is closed" in await say(OWNER, f"/reply {ticket.id} hello")
