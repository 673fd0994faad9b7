"""Tiers follow orders: up, and down in upgrade-and-downgrade mode; the customer is told."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from followup_support import T0, RecordingOutlet, dispatcher, make_contact
from membership_support import RULES, days, move, place

from config.catalog import default_catalog
from config.membership import Basis, Mode
from schedules.membership import review_due, schedule_tier_reviews
from schedules.scheduler import build_scheduler
from storage import followups, keys, membership
from storage.orders import OrderStatus
from storage.timestamps import to_epoch

pytestmark = pytest.mark.cluster

AMY = "console:amy"
SLIDING = replace(RULES, mode=Mode.UPGRADE_AND_DOWNGRADE)


async def notices(redis) -> list[tuple[str, str]]:
    records = await followups.of_contact(redis, AMY)
    return [
        (r.followup.id, r.followup.template) for r in records if r.followup.id.startswith("tier:")
    ]


async def test_orders_raise_the_tier_and_each_change_schedules_a_notice(redis):
    await place(redis, AMY, "A1", 300, T0)
    assert await membership.tier_of(redis, AMY) == "普通会员"
    await place(redis, AMY, "A2", 300, T0 + days(1))
    assert await membership.tier_of(redis, AMY) == "高级会员"
    assert await notices(redis) == [
        (f"tier:{AMY}:普通会员:{int(to_epoch(T0))}", "tier_welcome"),  # a first order
        (f"tier:{AMY}:高级会员:{int(to_epoch(T0 + days(1)))}", "tier_upgraded"),
    ]
    assert await redis.smembers(keys.tier_members("高级会员")) == {AMY}
    assert await redis.smembers(keys.tier_members("普通会员")) == set()
    assert await redis.zscore(keys.members_since(), AMY) == to_epoch(T0 + days(1))


async def test_upgrade_only_keeps_the_tier_after_a_refund(redis):
    await place(redis, AMY, "A1", 2500, T0)
    await move(redis, "A1", OrderStatus.REFUNDED, T0 + days(2))
    assert await membership.tier_of(redis, AMY) == "VIP会员"
    assert len(await notices(redis)) == 1


async def test_downgrade_mode_lowers_the_tier_after_a_refund_and_says_so(redis):
    await place(redis, AMY, "A1", 300, T0, rules=SLIDING)
    await place(redis, AMY, "A2", 2000, T0 + days(1), rules=SLIDING)
    assert await membership.tier_of(redis, AMY) == "VIP会员"
    await move(redis, "A2", OrderStatus.REFUNDED, T0 + days(3), rules=SLIDING)
    assert await membership.tier_of(redis, AMY) == "普通会员"
    assert (await notices(redis))[-1][1] == "tier_downgraded"
    assert await redis.zscore(keys.members_since(), AMY) is None, "no longer a member"
    assert await redis.smembers(keys.tier_members("VIP会员")) == set()


async def test_downgrade_mode_follows_the_rolling_window(redis):
    await place(redis, AMY, "A1", 600, T0, rules=SLIDING)
    await place(redis, AMY, "A2", 100, T0 + days(200), rules=SLIDING)
    assert await membership.tier_of(redis, AMY) == "高级会员"
    catalog = default_catalog()
    assert await review_due(redis, T0 + days(364), SLIDING, catalog) == 0
    assert await review_due(redis, T0 + days(366), SLIDING, catalog) == 1
    assert await membership.tier_of(redis, AMY) == "普通会员", "A1 left the 12 months"
    assert await review_due(redis, T0 + days(367), SLIDING, catalog) == 0, "next: A2 leaving"
    assert (await notices(redis))[-1][1] == "tier_downgraded"


async def test_upgrade_only_ignores_the_window(redis):
    await place(redis, AMY, "A1", 600, T0)
    assert await review_due(redis, T0 + days(800), RULES, default_catalog()) == 0
    assert await membership.tier_of(redis, AMY) == "高级会员"


async def test_points_basis(redis):
    by_points = replace(RULES, basis=Basis.POINTS, points_per_unit=0.5)
    await place(redis, AMY, "A1", 999.9, T0, rules=by_points)  # 499 points
    assert await membership.tier_of(redis, AMY) == "普通会员"
    await place(redis, AMY, "A2", 2.5, T0 + days(1), rules=by_points)  # +1 point
    assert await membership.tier_of(redis, AMY) == "高级会员"


async def test_imported_orders_set_the_tier_silently(redis):
    await place(redis, AMY, "A1", 6000, T0, source="import")
    assert await membership.tier_of(redis, AMY) == "尊贵VIP会员"
    assert await notices(redis) == []


async def test_unpaid_orders_give_no_tier(redis):
    await place(redis, AMY, "A1", 6000, T0, status=OrderStatus.UNPAID)
    assert await membership.tier_of(redis, AMY) is None
    assert await redis.zscore(keys.orders_by_time(), "A1") is None
    await move(redis, "A1", OrderStatus.PAID, T0 + days(1))
    assert await membership.tier_of(redis, AMY) == "尊贵VIP会员"
    assert await redis.zscore(keys.orders_by_time(), "A1") == to_epoch(T0)


async def test_the_notice_goes_out_in_the_customers_language_with_the_benefits(redis, settings):
    await make_contact(redis, AMY, language="en", name="Amy")
    await place(redis, AMY, "A1", 2100, T0)
    outlet = RecordingOutlet()
    report = await dispatcher(redis, settings, outlet).run_due(T0)
    assert report.sent == 1
    [notice] = outlet.sent
    assert notice.text.startswith(
        "Hi Amy, thank you for your first order! Welcome to Shopbot as a VIP member."
    )
    assert "10% off everything" in notice.text
    assert notice.idempotency_key == f"tier:{AMY}:VIP会员:{int(to_epoch(T0))}"
    assert notice.purpose.value == "transactional"


async def test_tier_reviews_are_scheduled_only_in_downgrade_mode(redis):
    scheduler = build_scheduler(ZoneInfo("Asia/Shanghai"))
    catalog = default_catalog()
    assert schedule_tier_reviews(scheduler, redis, RULES, catalog) is None
    job = schedule_tier_reviews(scheduler, redis, SLIDING, catalog, clock=lambda: T0 + days(400))
    assert job.id == "membership:review"
    await place(redis, AMY, "A1", 600, T0, rules=SLIDING)
    await job.func()
    assert await membership.tier_of(redis, AMY) == "普通会员"
