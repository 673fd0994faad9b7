"""``/stats`` from the console: periods, languages, roles; the counters the pipeline keeps."""

from __future__ import annotations

import pytest
from support import FIXED_NOW, make_dispatcher

from bot.messages import MessageKind, parse_command
from config.settings import Settings
from storage import daily_counters, keys, staff
from storage.daily_counters import Metric

OWNER = "telegram:1"
STAFF = "telegram:2"
CUSTOMER = "wechat:oC"


@pytest.fixture
def say(redis, settings, make_message):
    bot = make_dispatcher(redis, settings)

    async def send(contact: str, text: str, **fields):
        if parsed := parse_command(text):
            fields |= {"kind": MessageKind.COMMAND, "command": parsed[0], "payload": parsed[1]}
        return await bot.dispatch(make_message(text, contact=contact, **fields))

    return send


async def counters(redis, settings: Settings) -> dict[Metric, int]:
    days = daily_counters.last_days(FIXED_NOW, settings.tz, 1)
    return {
        metric: values[0] for metric, values in (await daily_counters.series(redis, days)).items()
    }


async def test_the_pipeline_counts_messages_and_question_outcomes(say, redis, settings):
    await say(CUSTOMER, "你们周末有直播吗")  # nobody knows: the fallback
    await say(CUSTOMER, "我的订单 202611220001 到哪了")  # an order question
    await say(OWNER, "/help")
    assert await counters(redis, settings) == {
        Metric.MESSAGES: 2,
        Metric.AUTO_ANSWERED: 1,
        Metric.UNANSWERED: 1,
    }
    assert await redis.zscore(keys.contacts_by_first_inquiry(), CUSTOMER) == FIXED_NOW.timestamp()
    assert await redis.zscore(keys.contacts_by_first_inquiry(), OWNER) is None


async def test_stats_periods_languages_and_roles(say, redis):
    await say(CUSTOMER, "你好")
    zh = (await say(OWNER, "/统计 7d")).replies[0].text
    assert zh.startswith("📊 近 7 天（2026-11-17 起）") and "联系人：共 2" in zh
    assert "阶段：潜在客户 1" in zh
    en = (await say(OWNER, "/stats", language_hint="en")).replies[0].text
    assert en.startswith("📊 Last 30 days (from 2026-10-25)")
    assert "Last 90 days" in (await say(OWNER, "/stats 90d", language_hint="en")).replies[0].text
    assert "Usage" in (await say(OWNER, "/stats 12d", language_hint="en")).replies[0].text
    await staff.add_staff(redis, STAFF)
    assert "Only an owner" in (await say(STAFF, "/stats", language_hint="en")).replies[0].text
    customer = (await say(CUSTOMER, "/stats")).replies[0].text
    assert "Last" not in customer and "近" not in customer
