"""Pre-sales (售前): catalogue answers and small talk, through the dispatcher."""

from __future__ import annotations

import pytest
from support import FIXED_NOW, make_dispatcher

from config.catalog import Catalog, default_catalog
from handlers.orders import record_order
from storage import daily_counters, keys, unanswered
from storage.daily_counters import Metric

AMY = "console:amy"


@pytest.fixture
def chat(redis, settings, make_message):
    bot = make_dispatcher(redis, settings)

    async def send(text: str, contact: str = AMY):
        result = await bot.dispatch(make_message(text, contact=contact))
        return "\n".join(reply.text for reply in result.replies)

    return send


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("西湖龙井多少钱", "西湖龙井 250g售价 59 元。\n搭配推荐：紫砂壶（299 元）"),
        ("龙井茶什么价？", "西湖龙井 250g售价 59 元。"),
        ("大罐龙井多少钱", "西湖龙井 500g售价 109 元。"),
        ("紫砂壶价格", "紫砂壶售价 299 元。\n搭配推荐：西湖龙井 250g（59 元）"),
        ("how much is the longjing?", "Longjing green tea 250g is 59 yuan.\nGoes well with"),
        ("What's the price of the teapot", "Yixing clay teapot is 299 yuan."),
    ],
)
async def test_price_questions_are_answered_from_the_catalogue(chat, question, expected):
    assert (await chat(question)).startswith(expected)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("龙井还有货吗", "西湖龙井 250g有现货，付款后 48 小时内发货。"),
        ("紫砂壶有现货吗", "紫砂壶还有货，仅剩 5 件"),
        ("咖啡豆还有吗", "云南咖啡豆 1kg暂时售罄了"),
        ("洗发水有货吗", "无硅油洗发水 500ml的库存以下单页面显示为准"),
        ("is the teapot in stock?", "Yixing clay teapot is in stock, but only 5 left."),
        ("coffee beans sold out?", "Yunnan coffee beans 1kg is sold out for now"),
    ],
)
async def test_stock_questions(chat, question, expected):
    assert (await chat(question)).startswith(expected)


async def test_usage_and_description(chat):
    assert (await chat("龙井怎么泡")).startswith("西湖龙井 250g使用小贴士：80-85℃ 的水冲泡")
    described = await chat("what is dragon well?")
    assert described.startswith("Longjing green tea 250g: early-spring Longjing green tea")
    assert "Goes well with: Yixing clay teapot (299 yuan)." in described


async def test_this_one_means_the_product_asked_about_before(chat):
    await chat("紫砂壶多少钱")
    assert (await chat("这个怎么用")).startswith("紫砂壶使用小贴士：第一次使用前")


async def test_this_tea_means_the_last_ordered_product(chat, redis, settings):
    body = {"id": "O10000001", "contact": AMY, "items": [{"sku": "tea-500g", "qty": 1}]}
    await record_order(
        redis, body, now=FIXED_NOW, catalog=default_catalog(), language="zh-CN",
        tz=settings.tz, source="api",
    )  # fmt: skip
    assert (await chat("这个茶怎么泡")).startswith("西湖龙井 500g使用小贴士")


async def test_without_a_product_the_faq_answers(chat):
    answer = await chat("运费多少钱")
    assert "售价" not in answer


async def test_catalogue_answers_count_as_answered(chat, redis, settings):
    await chat("龙井多少钱")
    figures = await daily_counters.series(redis, [FIXED_NOW.astimezone(settings.tz).date()])
    assert figures[Metric.AUTO_ANSWERED] == [1] and figures[Metric.UNANSWERED] == [0]


def test_bad_stock_and_unknown_related_are_refused(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("products:\n  - {sku: x, name: X, price: 1, stock: -2}\n")
    with pytest.raises(ValueError, match="stock"):
        Catalog.load(path)
    path.write_text("products:\n  - {sku: x, name: X, price: 1, related: [nope]}\n")
    with pytest.raises(ValueError, match="nope"):
        Catalog.load(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("谢谢", "不客气～"),
        ("谢谢！", "不客气～"),
        ("好的", "好的～还有其他问题随时问我哦。"),
        ("嗯嗯，知道了", "好的～"),
        ("thanks!", "You're welcome!"),
        ("Thank you so much", "You're welcome!"),
        ("ok", "Great!"),
        ("bye", "Thanks for stopping by."),
        ("再见", "感谢您的光临"),
        ("谢谢，再见", "感谢您的光临"),
        ("ok thanks, bye!", "Thanks for stopping by."),
    ],
)
async def test_small_talk_gets_a_friendly_answer_and_is_not_unanswered(
    chat, redis, settings, text, expected
):
    assert (await chat(text)).startswith(expected)
    assert await unanswered.recent(redis) == []
    figures = await daily_counters.series(redis, [FIXED_NOW.astimezone(settings.tz).date()])
    assert figures[Metric.UNANSWERED] == [0]


async def test_the_farewell_invites_to_follow_once_per_contact(chat, redis):
    first = await chat("谢谢，再见")
    second = await chat("再见")
    other = await chat("bye", contact="console:bob")
    assert "关注我们的公众号、收藏店铺" in first
    assert "关注" not in second
    assert "Follow our account or save the shop" in other
    assert await redis.exists(keys.contact_follow_invited(AMY)) == 1


async def test_a_question_with_thanks_is_not_small_talk(chat):
    assert "不客气" not in await chat("谢谢，我要退货")
