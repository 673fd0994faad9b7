"""Contacts, tags and notes on real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW

from storage import contacts, keys
from storage.contacts import TagSource

pytestmark = pytest.mark.cluster


async def test_first_message_creates_contact_with_short_id(redis):
    created = await contacts.touch(redis, "telegram:42", FIXED_NOW, display_name="Li Lei")
    later = FIXED_NOW + timedelta(hours=1)
    again = await contacts.touch(redis, "telegram:42", later, language="en")

    assert created.short_id == "C1" and created.message_count == 1
    assert again.short_id == "C1" and again.message_count == 2
    assert again.first_seen == FIXED_NOW and again.last_seen == later
    assert (again.display_name, again.language) == ("Li Lei", "en")
    assert (again.channel, again.external_id) == ("telegram", "42")
    assert await contacts.resolve_short_id(redis, "c1") == "telegram:42"


async def test_short_ids_are_distinct_per_contact(redis):
    first = await contacts.touch(redis, "wechat:oA", FIXED_NOW)
    second = await contacts.touch(redis, "wechat:oB", FIXED_NOW)
    assert {first.short_id, second.short_id} == {"C1", "C2"}


async def test_unknown_contact_is_none(redis):
    assert await contacts.get(redis, "telegram:nobody") is None


async def test_update_refuses_unknown_fields(redis):
    await contacts.touch(redis, "telegram:1", FIXED_NOW)
    await contacts.update(redis, "telegram:1", {"source": "qr-spring-sale"})
    contact = await contacts.get(redis, "telegram:1")
    assert contact is not None and contact.source == "qr-spring-sale"
    with pytest.raises(ValueError, match="message_count"):
        await contacts.update(redis, "telegram:1", {"message_count": "0"})


async def test_tags_keep_source_and_time_and_a_reverse_index(redis):
    added = await contacts.add_tags(
        redis, "wechat:o1", ["VIP", "首次询单"], TagSource.AUTO, FIXED_NOW
    )
    again = await contacts.add_tags(redis, "wechat:o1", ["VIP"], TagSource.OWNER, FIXED_NOW)
    await contacts.add_tags(redis, "wechat:o2", ["VIP"], TagSource.OWNER, FIXED_NOW)

    assert added == ["VIP", "首次询单"] and again == []
    tags = await contacts.tags_of(redis, "wechat:o1")
    assert tags["VIP"].source is TagSource.AUTO and tags["VIP"].applied_at == FIXED_NOW
    assert await contacts.contacts_with_tag(redis, "VIP") == {"wechat:o1", "wechat:o2"}
    assert await contacts.tag_counts(redis) == {"VIP": 2, "首次询单": 1}

    assert await contacts.remove_tags(redis, "wechat:o1", ["VIP", "absent"]) == ["VIP"]
    assert await contacts.contacts_with_tag(redis, "VIP") == {"wechat:o2"}
    assert await contacts.tag_counts(redis) == {"VIP": 1, "首次询单": 1}


async def test_notes_in_order(redis):
    await contacts.add_note(redis, "telegram:7", "telegram:1", "喜欢绿茶", FIXED_NOW)
    await contacts.add_note(redis, "telegram:7", "telegram:1", "asks for invoices", FIXED_NOW)
    notes = await contacts.notes_of(redis, "telegram:7")
    assert [n.text for n in notes] == ["喜欢绿茶", "asks for invoices"]
    assert notes[0].author == "telegram:1" and notes[0].written_at == FIXED_NOW


async def test_every_key_is_under_the_prefix(redis):
    await contacts.touch(redis, "telegram:42", FIXED_NOW)
    await contacts.add_tags(redis, "telegram:42", ["VIP"], TagSource.OWNER, FIXED_NOW)
    await contacts.add_note(redis, "telegram:42", "owner", "hi", FIXED_NOW)
    stored = set(await redis.keys("*"))
    assert stored == {
        keys.contact("telegram:42"),
        keys.contact_tags("telegram:42"),
        keys.contact_notes("telegram:42"),
        keys.tag_members("VIP"),
        keys.all_tags(),
        keys.contacts_by_last_seen(),
        keys.contacts_by_first_seen(),
        keys.contact_sequence(),
        keys.contacts_by_channel("telegram"),
        keys.short_ids(),
    }
    assert all(key.startswith(f"{keys.scope()}:") for key in stored)


async def test_unreachable_is_recorded_and_cleared(redis):
    await contacts.touch(redis, "telegram:9", FIXED_NOW)
    await contacts.mark_unreachable(redis, "telegram:9", "blocked the bot")
    contact = await contacts.get(redis, "telegram:9")
    assert contact is not None and contact.unreachable == "blocked the bot"
    await contacts.mark_reachable(redis, "telegram:9")
    contact = await contacts.get(redis, "telegram:9")
    assert contact is not None and contact.unreachable is None


async def test_a_touch_clears_unreachable(redis):
    await contacts.touch(redis, "telegram:9", FIXED_NOW)
    await contacts.mark_unreachable(redis, "telegram:9", "blocked the bot")
    touched = await contacts.touch(redis, "telegram:9", FIXED_NOW)
    stored = await contacts.get(redis, "telegram:9")
    assert touched.unreachable is None
    assert stored is not None and stored.unreachable is None


async def test_ensure_keeps_unreachable(redis):
    await contacts.touch(redis, "wechat:oU", FIXED_NOW)
    await contacts.mark_unreachable(redis, "wechat:oU", "unsubscribed")
    ensured = await contacts.ensure(redis, "wechat:oU", FIXED_NOW)
    assert ensured.unreachable == "unsubscribed"


async def test_ids_by_first_seen_pages_in_order_of_appearance(redis):
    for n, days in enumerate((1, 5, 3)):
        await contacts.touch(redis, f"wechat:o{n}", FIXED_NOW - timedelta(days=days))
    await contacts.touch(redis, "wechat:o1", FIXED_NOW)  # a later message moves nothing
    pages = [await contacts.ids_by_first_seen(redis, start, 2) for start in (0, 2, 4)]
    assert pages == [["wechat:o1", "wechat:o2"], ["wechat:o0"], []]
