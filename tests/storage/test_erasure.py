"""Erasure on real Redis (issue 13): nothing of the contact left in any key, value or index;
tickets and orders keep what the shop's figures need; everyone else untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from erasure_support import ERASED, KEPT, OWNER_MAILBOX, add_campaign, dump, populate
from support import FIXED_NOW

from storage import audit, campaigns, contacts, followups, keys, orders, satisfaction, tickets
from storage.erasure import erase_contact
from storage.orders import OrderChange, OrderStatus
from storage.tickets import TicketStatus

pytestmark = pytest.mark.cluster


async def test_erasure_leaves_no_key_value_or_index_entry_of_the_contact(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    await populate(redis, settings, KEPT, "二号")
    await add_campaign(redis, [ERASED.id, KEPT.id], fed=0)
    names, before = await dump(redis)
    assert all(secret in before for secret in ERASED.secrets), "the test data is everywhere"
    assert any(ERASED.openid in name for name in names)

    erasure = await erase_contact(redis, ERASED.id, FIXED_NOW)

    names, after = await dump(redis)
    assert [name for name in names if ERASED.openid in name] == []
    assert [line for line in after.splitlines() if any(s in line for s in ERASED.secrets)] == []
    assert ERASED.id not in after
    assert all(secret in after for secret in KEPT.secrets), "the other customer keeps everything"
    assert erasure.tickets == 1 and erasure.orders == 1 and erasure.followups == 2
    assert erasure.ratings == 1 and erasure.audit_entries == 3


async def test_the_other_contact_keeps_every_index_entry(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    await populate(redis, settings, KEPT, "二号")
    kept_before = await _index_entries(redis, KEPT.id)

    await erase_contact(redis, ERASED.id, FIXED_NOW)

    assert await _index_entries(redis, ERASED.id) == {}
    assert await _index_entries(redis, KEPT.id) == kept_before
    assert len(kept_before) >= 10
    assert await contacts.contacts_with_tag(redis, "VIP") == {KEPT.id}
    assert await redis.hvals(keys.short_ids()) == [KEPT.id]


async def _index_entries(redis, contact_id: str) -> dict[str, bool]:
    """Every global set or sorted set that lists the contact."""
    found = {}
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        in_set = kind == "set" and await redis.sismember(key, contact_id)
        if in_set or (kind == "zset" and await redis.zscore(key, contact_id) is not None):
            found[key] = True
    return found


async def test_a_ticket_keeps_its_id_intent_status_and_times_marked_erased(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    [before] = [t for t in await tickets.list_all(redis) if t.intent == "return"]

    erasure = await erase_contact(redis, ERASED.id, FIXED_NOW + timedelta(hours=1))

    after = await tickets.get(redis, before.id)
    assert (after.id, after.intent) == (before.id, before.intent)
    assert (before.status, after.status) == (TicketStatus.ANSWERED, TicketStatus.CLOSED)
    assert (after.closed_by, after.closed_at) == ("erasure", FIXED_NOW + timedelta(hours=1))
    assert (after.created_at, after.answered_at) == (before.created_at, before.answered_at)
    assert (after.text, after.order_number, after.answer) == ("", None, None)
    assert after.contact_id == erasure.anonymous_id
    assert after.erased_at == FIXED_NOW + timedelta(hours=1)
    assert before.id in [t.id for t in await tickets.list_all(redis)]


async def test_an_order_keeps_items_and_amount_for_the_figures_under_an_anonymous_id(
    redis, settings
):
    await populate(redis, settings, ERASED, "一号")
    before = await orders.get(redis, ERASED.order_id)

    erasure = await erase_contact(redis, ERASED.id, FIXED_NOW)

    after = await orders.get(redis, ERASED.order_id)
    assert erasure.anonymous_id.startswith("erased:")
    assert (after.items, after.amount, after.status) == (before.items, before.amount, before.status)
    assert (after.status_times, after.placed_at) == (before.status_times, before.placed_at)
    assert after.contact_id == erasure.anonymous_id
    assert (after.carrier, after.tracking_no) == (None, None)
    assert ERASED.order_id in await redis.zrange(keys.orders_by_time(), 0, -1)
    change = OrderChange(ERASED.order_id, status=OrderStatus.DELIVERED)
    await orders.apply(redis, change, FIXED_NOW + timedelta(days=1))
    names, _ = await dump(redis)
    assert [name for name in names if "erased:" in name] == [], "no index for the anonymous id"


async def test_audit_entries_naming_the_contact_are_anonymised_in_place(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    await populate(redis, settings, KEPT, "二号")
    ids_before = [entry_id for entry_id, _ in await redis.xrange(keys.audit_log())]

    erasure = await erase_contact(redis, ERASED.id, FIXED_NOW)

    assert [entry_id for entry_id, _ in await redis.xrange(keys.audit_log())] == ids_before
    entries = await audit.recent(redis, 10)
    mine = [e for e in entries if e.target in (erasure.anonymous_id,)]
    assert {(e.action, e.detail) for e in mine} == {("tag", "erased"), ("note", "erased")}
    reply_details = {e.detail for e in entries if e.action == "reply"}
    assert len(reply_details) == 2 and "erased" in reply_details, "the ticket's reply too"
    assert any(KEPT.id in e.target for e in entries)
    await audit.record(redis, "telegram:1", "tag", KEPT.id, "later", FIXED_NOW)
    assert (await audit.recent(redis, 1))[0].detail == "later", "the stream goes on"


async def test_follow_ups_of_every_state_go_with_their_index(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    [claimed, *_] = await followups.claim_due(redis, FIXED_NOW, 10, 60)
    assert claimed.contact_id == ERASED.id

    await erase_contact(redis, ERASED.id, FIXED_NOW)

    assert await followups.of_contact(redis, ERASED.id) == []
    assert await redis.hgetall(keys.followups_leased()) == {}
    assert await redis.zcard(keys.followups_due()) == 0
    assert not await redis.exists(keys.marketing_sent(ERASED.id))


async def test_a_campaign_audience_loses_the_contact_and_the_feeder_skips_no_one(redis):
    members = ["console:a", ERASED.id, "console:b", "console:c"]
    await add_campaign(redis, members, fed=2)

    await erase_contact(redis, ERASED.id, FIXED_NOW)

    campaign = await campaigns.get(redis, "K1")
    assert campaign.fed == 1
    remaining = await campaigns.audience_slice(redis, "K1", campaign.fed, 10)
    assert remaining == ["console:b", "console:c"], "the next recipient is still ahead"
    attribution = await campaigns.attribution(redis, "K1")
    assert (attribution.replied, attribution.ordered, attribution.revenue) == (3, 4, 396.0)


async def test_ratings_of_the_contact_go_and_others_stay(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    await populate(redis, settings, KEPT, "二号")
    refs = await redis.hkeys(keys.ratings())

    await erase_contact(redis, ERASED.id, FIXED_NOW)

    left = [await satisfaction.get(redis, ref) for ref in refs]
    assert [rating.contact_id for rating in left if rating] == [KEPT.id]
    assert await redis.zcard(keys.ratings_by_time()) == 1


async def test_an_owners_mailbox_keeps_what_does_not_name_the_contact(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    await populate(redis, settings, KEPT, "二号")

    await erase_contact(redis, ERASED.id, FIXED_NOW)

    texts = await redis.lrange(keys.mailbox(OWNER_MAILBOX), 0, -1)
    assert len(texts) == 1 and KEPT.id in texts[0]


async def test_a_contact_id_inside_a_longer_one_is_not_the_contact(redis):
    await contacts.touch(redis, "telegram:5", FIXED_NOW)
    await contacts.touch(redis, "telegram:55", FIXED_NOW)
    await audit.record(redis, "telegram:1", "tag", "telegram:55", "telegram:55 VIP", FIXED_NOW)

    assert (await erase_contact(redis, "telegram:5", FIXED_NOW)).audit_entries == 0
    assert (await audit.recent(redis, 1))[0].target == "telegram:55"
    assert await contacts.get(redis, "telegram:55") is not None
