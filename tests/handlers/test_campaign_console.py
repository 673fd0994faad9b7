"""``/campaign`` through the dispatcher: owners only, parsing, confirmation, state changes."""

from __future__ import annotations

import pytest
from support import FIXED_NOW, make_dispatcher

from bot.messages import MessageKind, parse_command
from storage import campaigns, contacts, staff
from storage.campaigns import Status
from storage.contacts import TagSource

OWNER = "telegram:1"
STAFF = "telegram:2"
CUSTOMER = "wechat:oCUST"
NEW = "/campaign new 双十二 | tag:VIP | now | {name}您好，双十二全场8折 | Hi {name}, 20% off"


@pytest.fixture
def say(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)

    async def send(contact: str, text: str) -> list[str]:
        parsed = parse_command(text)
        fields = {}
        if parsed:
            fields = {"kind": MessageKind.COMMAND, "command": parsed[0], "payload": parsed[1]}
        result = await dispatcher.dispatch(make_message(text, contact=contact, **fields))
        return [reply.text for reply in result.replies]

    return send


@pytest.fixture
async def people(redis, say):
    for contact in (OWNER, STAFF, CUSTOMER):
        await say(contact, "hello")
    await staff.add_staff(redis, STAFF)


async def test_staff_may_not_run_campaigns_and_customers_never_see_the_command(redis, say, people):
    [denied] = await say(STAFF, NEW)
    assert "/campaign" in denied and ("owner" in denied or "店主" in denied)
    [customer] = await say(CUSTOMER, NEW)
    assert "campaign" not in customer.lower()
    assert await campaigns.all_campaigns(redis) == []


async def test_owner_creates_sends_and_confirms(redis, say, people):
    [created] = await say(OWNER, NEW)
    assert "K1" in created
    stored = await campaigns.get(redis, "K1")
    assert (stored.segment, stored.when, stored.status) == ("tag:VIP", "now", Status.DRAFT)
    assert stored.texts == {"zh-CN": "{name}您好，双十二全场8折", "en": "Hi {name}, 20% off"}

    [early] = await say(OWNER, "/campaign confirm K1")
    assert "/campaign send K1" in early
    assert (await campaigns.get(redis, "K1")).status is Status.DRAFT

    [asked] = await say(OWNER, "/campaign send K1")
    assert "/campaign confirm K1" in asked
    assert (await campaigns.get(redis, "K1")).status is Status.CONFIRMING
    [sending] = await say(OWNER, "/活动 确认 K1")
    assert "K1" in sending and "发送" in sending
    assert (await campaigns.get(redis, "K1")).status is Status.SENDING

    [listed] = await say(OWNER, "/campaign")
    assert "K1" in listed and "双十二" in listed


@pytest.mark.parametrize(
    ("command", "complaint"),
    [
        ("/campaign new a | tag:VIP | now", "Usage"),
        ("/campaign new a | spend>>3 | now | hi", "spend"),
        ("/campaign new a | tag:VIP | next tuesday | hi", "next tuesday"),
        ("/campaign new a | tag:VIP | 0 61 * * * | hi", "0 61"),
        ("/campaign new a | tag:VIP | now | hi {price}", "{price}"),
        ("/campaign preview K9", "K9"),
        ("/campaign fly K1", "Usage"),
    ],
)
async def test_mistakes_are_explained(redis, say, people, command, complaint):
    [answer] = await say(OWNER, command)
    assert complaint in answer
    assert await campaigns.all_campaigns(redis) == []


async def test_buttons_and_a_cron_time(redis, say, people):
    await say(
        OWNER,
        '/campaign new 月度回馈 | orders>=2 | "0 10 1 * *" | 感谢支持 | Thanks | '
        "按钮: 领券/Get coupon; 不用了/No thanks",
    )
    stored = await campaigns.get(redis, "K1")
    assert stored.when == "0 10 1 * *"
    assert stored.buttons == (
        {"zh-CN": "领券", "en": "Get coupon"},
        {"zh-CN": "不用了", "en": "No thanks"},
    )
    assert stored.texts["en"] == "Thanks"
    await say(OWNER, "/campaign send K1")
    [armed] = await say(OWNER, "/campaign confirm K1")
    assert "0 10 1 * *" in armed
    assert (await campaigns.get(redis, "K1")).status is Status.ARMED


async def test_pause_resume_cancel_from_the_console(redis, say, people):
    await say(OWNER, NEW)
    [refused] = await say(OWNER, "/campaign pause K1")
    assert "K1" in refused and "draft" in refused
    await say(OWNER, "/campaign send K1")
    await say(OWNER, "/campaign confirm K1")
    assert "paused" in (await say(OWNER, "/campaign pause K1"))[0]
    assert (await campaigns.get(redis, "K1")).status is Status.PAUSED
    await say(OWNER, "/campaign resume K1")
    assert (await campaigns.get(redis, "K1")).status is Status.SENDING
    [cancelled] = await say(OWNER, "/campaign cancel K1")
    assert "cancelled" in cancelled
    [status] = await say(OWNER, "/campaign status K1")
    assert "cancelled" in status and "sent 0" in status


async def test_preview_without_channels_sends_a_test_message_to_the_owner(redis, say, people):
    await contacts.add_tags(redis, CUSTOMER, ["VIP"], TagSource.OWNER, FIXED_NOW)
    await say(OWNER, NEW)
    summary, zh, en = await say(OWNER, "/campaign preview K1")
    assert "matching: 1" in summary and "would receive it: 1" in summary
    assert "checked at sending time" in summary
    assert zh == "亲您好，双十二全场8折" and en == "Hi there, 20% off"


async def test_a_swept_cancelled_campaign_shows_its_frozen_figures(redis, say, people):
    """Issue 13: its audience is gone after SHOPBOT_FOLLOWUP_KEEP_DAYS, its figures stay."""
    await say(OWNER, NEW)
    await say(OWNER, "/campaign send K1")
    await say(OWNER, "/campaign confirm K1")
    await say(OWNER, "/campaign cancel K1")
    results = {"sent": 4, "failed": 1, "cancelled": 2, "skipped": {}}
    await campaigns.sweep_audience(redis, "K1", FIXED_NOW, results)

    [status] = await say(OWNER, "/campaign status K1")
    assert "sent 4, failed 1" in status and "withdrawn 2" in status
