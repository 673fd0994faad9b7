"""Issue 13: staff read the FAQ but change its answers only when an owner allows it."""

from __future__ import annotations

import pytest
from support import make_dispatcher, send_command

from storage import audit, staff

OWNER = "telegram:1"
STAFF = "telegram:2"
CHANGES = [
    "/faq add gift gift wrap?; wrapping = Yes, free.",
    "/faq edit invoice = We issue no invoices.",
    "/faq edit invoice + receipt?",
    "/faq del invoice",
]


@pytest.fixture
def say(redis, make_message):
    def for_settings(settings):
        dispatcher = make_dispatcher(redis, settings)

        async def send(contact: str, text: str) -> str:
            return await send_command(dispatcher, make_message, contact, text)

        return send

    return for_settings


@pytest.fixture
async def staff_member(redis):
    await staff.add_staff(redis, STAFF)


@pytest.mark.parametrize("command", CHANGES)
async def test_staff_may_not_change_answers_by_default(say, settings, staff_member, command):
    send = say(settings)
    before = await send(STAFF, "/faq show invoice")
    answer = await send(STAFF, command)
    assert "Only an owner may use /faq" in answer
    assert await send(STAFF, "/faq show invoice") == before
    assert "gift" not in await send(STAFF, "/faq list")


async def test_staff_may_still_read_the_faq(say, settings, staff_member):
    send = say(settings)
    assert "invoice" in await send(STAFF, "/faq list")
    assert "invoice" in await send(STAFF, "/faq show invoice")


async def test_a_refused_change_is_audited(redis, say, settings, staff_member):
    await say(settings)(STAFF, "/faq del invoice")
    [entry] = await audit.recent(redis)
    assert (entry.actor, entry.action) == (STAFF, "faq")


async def test_staff_may_change_answers_when_allowed(say, settings, staff_member):
    send = say(settings.model_copy(update={"staff_edit_faq": True}))
    assert "Saved entry invoice" in await send(STAFF, "/faq edit invoice = We issue no invoices.")
    assert "We issue no invoices." in await send(STAFF, "/faq show invoice")


async def test_owners_always_may(say, settings):
    send = say(settings)
    assert "Saved entry invoice" in await send(OWNER, "/faq edit invoice = Ask us for one.")
