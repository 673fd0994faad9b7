"""Issue 15 end to end: orders through the orders API, care through ``followups run-due
--now`` and the customer through the terminal chat (``python -m bot chat``), all on the
test Redis."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette
from support import FIXED_NOW, MovableClock, run_cli

from bot.api import order_api_routes
from config.catalog import default_catalog
from config.followup_rules import rules_from
from config.membership import membership_from
from handlers.orders import OrderEvents
from schedules.membership import MembershipCare
from schedules.order_care import OrderCare
from storage import followups, mailbox, orders
from storage.followups import State
from storage.orders import OrderStatus

KEY = "care-key"
AMY = "console:amy"


def bot(redis_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(*args, stdin=stdin, SHOPBOT_REDIS_URL=redis_url, SHOPBOT_LOG_LEVEL="WARNING")


@pytest.fixture
def clock():
    return MovableClock(FIXED_NOW)


@pytest.fixture
async def api(redis, settings, clock):
    events = OrderEvents()
    events.subscribe(OrderCare(redis, rules_from(None), default_catalog(), settings.tz))
    events.subscribe(MembershipCare(redis, membership_from(None), default_catalog()))
    configured = settings.model_copy(update={"api_key": KEY})
    app = Starlette(routes=order_api_routes(redis, configured, events, clock))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:

        async def post(body: dict) -> dict:
            response = await http.post(
                "/api/orders", json=body, headers={"Authorization": f"Bearer {KEY}"}
            )
            assert response.status_code == 200, response.text
            return response.json()

        yield post


ITEMS = [{"sku": "tea-250g", "qty": 1}]


async def test_a_burst_keeps_the_tracking_number_and_late_care_expires(redis, redis_url, api):
    await api({"id": "O10000001", "contact": AMY, "status": "paid", "items": ITEMS})
    for status in ("shipped", "arrived", "delivered"):
        await api(
            {"id": "O10000001", "status": status, "carrier": "顺丰", "tracking_no": "SF123456"}
        )

    ran = bot(
        redis_url, "followups", "run-due", "--now", (FIXED_NOW + timedelta(minutes=1)).isoformat()
    )
    late = bot(
        redis_url, "followups", "run-due", "--now", (FIXED_NOW + timedelta(days=20)).isoformat()
    )

    assert ran.returncode == 0, ran.stderr
    assert "order:O10000001:shipped: sent" in ran.stdout
    assert "order:O10000001:delivered: sent" in ran.stdout
    texts = [m["text"] for m in await mailbox.drain(redis, AMY)]
    assert any("运单号 SF123456" in text for text in texts)
    assert any("西湖龙井 250g使用小贴士：80-85℃" in text for text in texts)
    assert "茶叶请密封避光保存，开封后一个月内喝完口感最佳；有任何问题" not in "".join(texts)
    for rule in ("review_thanks", "rate", "revisit"):
        assert f"order:O10000001:{rule}: skipped: expired" in late.stdout
    [arrived] = await followups.records(redis, ["order:O10000001:arrived"])
    assert arrived.state is State.CANCELLED


async def test_the_customer_in_the_terminal_chat(redis, redis_url, api, clock):
    await api({"id": "O10000001", "contact": AMY, "status": "paid", "items": ITEMS})
    await api({"id": "O10000001", "status": "shipped", "carrier": "圆通", "tracking_no": "YT9"})
    clock.advance(minutes=5)
    await api({"id": "O10000002", "contact": AMY, "items": ITEMS})  # unpaid
    await api({"id": "O10000003", "contact": "console:bob", "status": "delivered", "items": ITEMS})

    lines = [
        "查件",  # two open orders: offered as buttons
        "1",  # the first button: the newest order, O10000002
        "取消订单 O10000002",
        "我的快递到哪了",  # now one open order
        "西湖龙井多少钱",
        "我是什么会员",
        "会员有哪些等级",
        "谢谢，再见",
    ]
    chat = bot(redis_url, "chat", "--as", "amy", stdin="\n".join(lines) + "\n")

    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert "您有 2 个订单" in out
    assert "订单 O10000002 还未付款，付款后" in out
    assert "订单 O10000002 还未付款，已为您取消" in out
    assert "亲，订单 O10000001 已于 11-23 18:00 发货：圆通 运单号 YT9" in out
    assert "西湖龙井 250g售价 59 元。\n搭配推荐：紫砂壶（299 元）" in out
    assert "您目前是普通会员，累计消费 59 元" in out
    assert "高级会员（累计消费满 500 元）" in out and "银卡" not in out
    assert "感谢您的光临" in out and "关注我们的公众号" in out
    assert "答不上来" not in out
    assert (await orders.get(redis, "O10000002")).status is OrderStatus.CANCELLED
    [reminder] = await followups.records(redis, ["order:O10000002:unpaid_reminder"])
    assert reminder.state is State.CANCELLED
