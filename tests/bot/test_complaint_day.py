"""A complaint's promise kept, in-process on real Redis with a clock the test moves.

The customer complains in the terminal; the owner is told, reminded before the
promised follow-up lapses and again when it has, unless someone answers first;
``/reply T1001 #色差`` sends the category's script in the customer's language.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW

from bot.messages import ContactRef
from config.i18n import default_templates
from storage import followups
from storage.followups import State

OWNER = ContactRef("console", "owner")
AMY = ContactRef("console", "amy")
TEMPLATES = default_templates()
# FIXED_NOW is 18:00 in Shanghai: inside the default business hours (09:00-22:00).
DUE = FIXED_NOW + timedelta(hours=24)
NEAR = DUE - timedelta(minutes=120)


def reminder(stage: str, owner: ContactRef = OWNER) -> str:
    return f"ticket:T1001:{stage}:{owner.id}"


async def test_an_unanswered_complaint_reminds_the_owner_before_and_after(shop_day):
    [opened] = await shop_day.say(AMY, "有色差")
    assert "T1001" in opened
    [listed] = await shop_day.say(OWNER, "/tickets")
    assert "T1001 [open] C1 complaint:colour · 有色差" in listed
    [notice] = await shop_day.texts(OWNER)
    assert "新投诉 T1001｜色差投诉" in notice and "/reply T1001 #色差" in notice

    await shop_day.followups.run_due(NEAR - timedelta(minutes=1))
    assert await shop_day.texts(OWNER) == []

    # Typing /tickets made the owner's language English: reminders come in the owner's own.
    await shop_day.followups.run_due(NEAR)
    [near] = await shop_day.texts(OWNER)
    assert near.startswith(
        "⏰ Nobody has answered complaint T1001 (complaint (colour difference)) yet"
    )
    assert "due at 11-24 18:00" in near and "Customer: C1 · console · amy · tags:" in near

    await shop_day.followups.run_due(DUE)
    [lapsed] = await shop_day.texts(OWNER)
    assert lapsed.startswith("🚨 Complaint T1001 (complaint (colour difference)) has passed")
    records = await followups.records(
        shop_day.runtime.redis, [reminder("near"), reminder("lapsed")]
    )
    assert [record.state for record in records] == [State.SENT, State.SENT]


async def test_an_answer_cancels_the_reminders(shop_day):
    await shop_day.say(AMY, "the colour is different from the pictures")
    await shop_day.texts(OWNER)

    shop_day.clock.advance(hours=1)
    [done] = await shop_day.say(OWNER, "/reply T1001 #色差 We'll send a new one today.")
    assert "T1001" in done
    [answer] = await shop_day.texts(AMY)
    script = TEMPLATES.text("complaint_script.colour", "en")
    assert answer == f"[Reply from the shop | ticket T1001] {script} We'll send a new one today."

    await shop_day.followups.run_due(DUE + timedelta(hours=1))
    assert await shop_day.texts(OWNER) == []
    records = await followups.records(
        shop_day.runtime.redis, [reminder("near"), reminder("lapsed")]
    )
    assert {(r.state, r.reason) for r in records} == {(State.CANCELLED, "answered")}


async def test_closing_cancels_the_reminders(shop_day):
    await shop_day.say(AMY, "收到是坏的")
    await shop_day.say(OWNER, "/close T1001")
    await shop_day.followups.run_due(DUE + timedelta(hours=1))
    assert not any("T1001" in text and "⏰" in text for text in await shop_day.texts(OWNER))
    [record] = await followups.records(shop_day.runtime.redis, [reminder("lapsed")])
    assert (record.state, record.reason) == (State.CANCELLED, "closed")


@pytest.mark.parametrize(
    ("tag", "script"),
    [
        ("#色差", "complaint_script.colour"),
        ("#colour", "complaint_script.colour"),
        ("#colour_difference", "complaint_script.colour"),
        ("#尺码不对", "complaint_script.size"),
        ("#物流慢", "complaint_script.delivery_slow"),
        ("#投诉", "complaint_script.general"),
    ],
)
async def test_reply_scripts_by_any_of_their_tags(shop_day, tag, script):
    await shop_day.say(AMY, "有色差")
    await shop_day.say(OWNER, f"/reply T1001 {tag}")
    [answer] = await shop_day.texts(AMY)
    assert answer == f"【客服回复｜工单 T1001】{TEMPLATES.text(script, 'zh-CN')}"


async def test_an_unknown_script_is_refused_and_nothing_is_sent(shop_day):
    await shop_day.say(AMY, "有色差")
    [refused] = await shop_day.say(OWNER, "/reply T1001 #颜色")
    assert refused.startswith("没有话术 #颜色。可用的话术：")
    assert "#色差" in refused and "#尺码不对" in refused
    assert await shop_day.texts(AMY) == []
    [record] = await followups.records(shop_day.runtime.redis, [reminder("near")])
    assert record.state is State.PENDING


async def test_outside_business_hours_the_bot_says_when_a_person_answers(shop_day):
    shop_day.clock.now = FIXED_NOW.replace(hour=15)  # 23:00 in Shanghai
    [late] = await shop_day.say(AMY, "客服太慢了")
    assert "现在是非工作时间，客服会在明天 09:00上班后第一时间回复您" in late
    assert "尽快" not in late
    shop_day.clock.now = FIXED_NOW.replace(hour=2)  # 10:00 in Shanghai
    [day] = await shop_day.say(ContactRef("console", "bob"), "客服太慢了")
    assert "客服会尽快回复您" in day and "非工作时间" not in day


async def test_outside_business_hours_in_english(shop_day):
    shop_day.clock.now = FIXED_NOW.replace(hour=23)  # 07:00 in Shanghai
    [late] = await shop_day.say(AMY, "the parcel arrived damaged")
    assert "a person will reply today at 09:00, when we're back" in late


async def test_a_script_also_works_when_writing_to_a_contact(shop_day):
    await shop_day.say(AMY, "the box was crushed")
    await shop_day.say(OWNER, "/reply C1 #packaging")
    [answer] = await shop_day.texts(AMY)
    assert answer == f"[Customer service] {TEMPLATES.text('complaint_script.packaging', 'en')}"


async def test_reminders_in_chinese_for_a_chinese_owner(shop_day):
    await shop_day.say(OWNER, "你好")
    await shop_day.say(AMY, "收到是坏的")
    await shop_day.texts(OWNER)
    await shop_day.followups.run_due(NEAR)
    [near] = await shop_day.texts(OWNER)
    assert near.startswith(
        "⏰ 投诉 T1001（破损投诉）还没有人回复，承诺的跟进时间 11-24 18:00 快到了"
    )
    assert "客户：C2 · console · amy · 标签：" in near
