"""Membership answers generated from membership.yaml: the FAQ overview and "what member am I"."""

from __future__ import annotations

from dataclasses import replace

import pytest
from followup_support import RecordingOutlet, dispatcher
from membership_support import RULES, place
from support import FIXED_NOW, make_dispatcher

from config.i18n import default_templates
from config.membership import Basis, Mode
from handlers.membership_answers import overview
from storage import contacts

AMY = "console:amy"


@pytest.fixture
def chat(redis, settings, make_message):
    bot = make_dispatcher(redis, settings)

    async def send(text: str):
        result = await bot.dispatch(make_message(text, contact=AMY))
        return "\n".join(reply.text for reply in result.replies)

    return send


async def test_the_faq_membership_answer_is_the_configured_tiers(chat):
    answer = await chat("会员有哪些等级")
    assert answer == (
        "亲，Shopbot的会员等级如下：普通会员（首单即可成为）：新品优先通知、登记生日后享生日祝福；"
        "高级会员（累计消费满 500 元）：全场 95 折、每月一次包邮；"
        "VIP会员（累计消费满 2000 元）：全场 9 折、全年包邮、专属客服；"
        "尊贵VIP会员（累计消费满 5000 元）：全场 85 折、全年包邮、专属客服、新品试用。"
    )
    for never_configured in ("银卡", "金卡", "钻石", "积分"):
        assert never_configured not in answer


async def test_the_english_overview(chat):
    answer = await chat("what are the membership levels")
    assert answer.startswith("Shopbot membership tiers: Member (with your first order)")
    assert "Silver member (from 500 yuan total spend): 5% off everything" in answer


def test_the_overview_follows_the_file():
    rules = replace(RULES, basis=Basis.POINTS, points_per_unit=2, mode=Mode.UPGRADE_AND_DOWNGRADE)
    text = overview(rules, default_templates(), "zh-CN", "茶铺")
    assert "高级会员（积分满 500）" in text
    assert text.endswith("每消费 1 元得 2 积分。 等级按近 365 天的消费计算。")


@pytest.mark.parametrize("question", ["我是什么会员", "我的等级", "我的会员等级是什么"])
async def test_what_member_am_i_with_the_next_tier(chat, redis, question):
    await place(redis, AMY, "A1", 320, FIXED_NOW)
    assert await chat(question) == (
        "亲，您目前是普通会员，累计消费 320 元，享有：新品优先通知。"
        "再消费 180 元即可升级为高级会员（全场 95 折、每月一次包邮）。"
    )


async def test_birthday_wishes_are_promised_only_with_a_recorded_birthday(chat, redis):
    await place(redis, AMY, "A1", 100, FIXED_NOW)
    await contacts.update(redis, AMY, {"birthday": "05-12"})
    assert "享有：生日祝福、新品优先通知" in await chat("我是什么会员")


async def test_what_tier_am_i_in_english_at_the_top(chat, redis):
    await place(redis, AMY, "A1", 6000, FIXED_NOW)
    assert await chat("what tier am I?") == (
        "You are a Premier VIP member, with 6000 yuan spent so far. Your benefits: 15% off "
        "everything, free shipping all year, a personal service line and new products to try. "
        "That is our highest tier: thank you for being with us!"
    )


async def test_without_an_order_the_first_order_makes_a_member(chat):
    assert (
        await chat("我是什么会员")
        == "亲，您还没有下过单，首单即可成为普通会员，享有：新品优先通知。"
    )


async def test_the_first_order_is_a_welcome_without_a_birthday_promise(redis, settings):
    await contacts.touch(redis, AMY, FIXED_NOW, language="zh-CN")
    await place(redis, AMY, "A1", 59, FIXED_NOW)
    outlet = RecordingOutlet()
    await dispatcher(redis, settings, outlet).run_due(FIXED_NOW)
    [welcome] = outlet.texts_to(AMY)
    assert "感谢您的首单！欢迎成为Shopbot普通会员" in welcome and "升级" not in welcome
    assert "生日祝福" not in welcome
