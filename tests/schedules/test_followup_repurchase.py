"""Repurchase timing (catalogue cycle, personal median), win-back, and the reminder's buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from followup_support import T0, RecordingOutlet, dispatcher, make_contact
from support import FIXED_NOW, make_dispatcher

from bot.messages import MessageKind
from config.catalog import default_catalog
from config.followup_rules import rules_from
from schedules.lifecycle import OrderFacts, on_order_status
from schedules.repurchase import personal_interval
from storage import contacts, followups
from storage.followups import State
from storage.orders import OrderItem

pytestmark = pytest.mark.cluster

ALICE = "console:alice"  # the make_message fixture's default contact
RULES = rules_from(None)


async def buy(redis, order_id: str, at, sku: str = "tea-250g", quantity: int = 1):
    facts = OrderFacts(order_id, ALICE, "paid", at, (OrderItem(sku, sku, quantity, 59.0),))
    return await on_order_status(redis, facts, at, RULES, default_catalog())


async def reminders(redis) -> dict[str, tuple[State, object]]:
    return {
        r.followup.id.removeprefix(f"repurchase:{ALICE}:"): (r.state, r.followup.due_at)
        for r in await followups.of_contact(redis, ALICE)
        if r.followup.template == "repurchase"
    }


async def test_catalogue_cycle_times_quantity_less_the_lead(redis):
    await buy(redis, "1", T0, quantity=2)  # 30-day cycle x 2, reminded 3 days early
    assert await reminders(redis) == {"tea-250g:1": (State.PENDING, T0 + timedelta(days=57))}


async def test_personal_median_interval_wins_after_two_purchases(redis):
    await buy(redis, "1", T0)
    await buy(redis, "2", T0 + timedelta(days=20))
    after_two = await reminders(redis)
    await buy(redis, "3", T0 + timedelta(days=44))

    assert after_two == {
        "tea-250g:1": (State.CANCELLED, T0 + timedelta(days=27)),
        "tea-250g:2": (State.PENDING, T0 + timedelta(days=20 + 20 - 3)),
    }
    assert (await reminders(redis))["tea-250g:3"] == (
        State.PENDING,
        T0 + timedelta(days=44 + 22 - 3),  # median of 20 and 24 days
    )


def test_personal_interval_is_the_exact_median_gap():
    assert personal_interval([T0]) is None
    odd = [T0, T0 + timedelta(days=3), T0 + timedelta(days=4), T0 + timedelta(days=9)]
    assert personal_interval(odd) == timedelta(days=3)  # gaps 3, 1 and 5 days
    # Gaps of 1 s and 2.000001 s: their mean 1.5000005 s, to the microsecond (half to even).
    even = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=3, microseconds=1)]
    assert personal_interval(even) == timedelta(seconds=1, microseconds=500_000)
    uneven = [T0, T0 + timedelta(microseconds=1), T0 + timedelta(microseconds=3)]
    assert personal_interval(uneven) == timedelta(microseconds=2)  # 1.5 µs, half to even


async def test_products_without_a_cycle_get_no_reminder(redis):
    await buy(redis, "1", T0, sku="teapot")
    assert await reminders(redis) == {}


async def test_winback_at_60_and_90_days_moves_with_each_order(redis):
    await buy(redis, "1", T0)
    changes = await buy(redis, "2", T0 + timedelta(days=10))
    pending = {
        r.followup.id: r.followup.due_at
        for r in await followups.of_contact(redis, ALICE)
        if r.followup.template == "winback" and r.state is State.PENDING
    }
    assert pending == {
        f"winback:{ALICE}:2:60": T0 + timedelta(days=70),
        f"winback:{ALICE}:2:90": T0 + timedelta(days=100),
    }
    assert set(changes.cancelled) >= {f"winback:{ALICE}:1:60", f"winback:{ALICE}:1:90"}


async def press(redis, settings, make_message, payload: str, label: str = ""):
    message = make_message(label, kind=MessageKind.BUTTON, payload=payload)
    return await make_dispatcher(redis, settings).dispatch(message)


async def test_snooze_button_reminds_again_in_seven_days(redis, settings, make_message):
    await make_contact(redis, ALICE)
    await buy(redis, "1", FIXED_NOW - timedelta(days=27))
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(FIXED_NOW)
    [sent] = [m for m in outlet.sent if m.idempotency_key.startswith("repurchase:")]
    snooze = next(b for b in sent.buttons if b.payload.startswith("repurchase:snooze"))

    result = await press(redis, settings, make_message, snooze.payload, snooze.label)

    assert [m.text for m in result.replies] == ["Sure, I'll remind you again in 7 days."]
    snoozed = {k: v for k, v in (await reminders(redis)).items() if "snooze" in k}
    assert list(snoozed.values()) == [(State.PENDING, FIXED_NOW + timedelta(days=7))]
    await dispatcher(redis, settings, outlet).run_due(FIXED_NOW + timedelta(days=7))
    assert outlet.sent[-1].text == sent.text
    assert outlet.sent[-1].idempotency_key.startswith(f"repurchase:{ALICE}:tea-250g:snooze-")


async def test_no_thanks_stops_reminders_for_that_product_only(redis, settings, make_message):
    await buy(redis, "1", T0)
    await buy(redis, "1c", T0, sku="coffee-1kg")

    result = await press(redis, settings, make_message, "repurchase:stop:tea-250g", "No thanks")
    await buy(redis, "2", T0 + timedelta(days=5))

    assert [m.text for m in result.replies] == [
        "OK, no more reminders about Longjing green tea 250g."
    ]
    assert await reminders(redis) == {
        "tea-250g:1": (State.CANCELLED, T0 + timedelta(days=27)),
        "coffee-1kg:1c": (State.PENDING, T0 + timedelta(days=37)),
    }


async def test_reorder_button_tells_the_customer_and_the_owners(redis, settings, make_message):
    result = await press(redis, settings, make_message, "repurchase:reorder:tea-250g", "再来一份")
    assert [m.text for m in result.replies] == [
        "好的，已为您记录再来一份西湖龙井 250g的需求，并通知客服与您确认订单，客服会尽快回复您。"
    ]
    owners = {m.recipient.id: m.text for m in result.others}
    assert set(owners) == {"telegram:1", "console:owner"}
    assert (
        "想再买一份西湖龙井 250g" in owners["telegram:1"]
        and "console:alice" in owners["telegram:1"]
    )


async def test_revisit_answer_is_noted_and_unhappy_ones_reach_the_owner(
    redis, settings, make_message
):
    happy = await press(redis, settings, make_message, "revisit:good:8812", "Great")
    unhappy = await press(redis, settings, make_message, "revisit:bad:8813", "Not happy")

    notes = [note.text for note in await contacts.notes_of(redis, ALICE)]
    assert notes == ["revisit order 8812: good (Great)", "revisit order 8813: bad (Not happy)"]
    assert [m.text for m in happy.replies] == ["Thanks for telling us!"] and not happy.others
    assert "回访不满意：订单 8813" in unhappy.others[0].text  # owners: the shop's language


async def test_other_buttons_pass_on_to_the_next_responder(redis, settings, make_message):
    result = await press(redis, settings, make_message, "campaign:open:x")
    assert result.replies == ()
