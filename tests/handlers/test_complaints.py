"""Complaints (售后, 差评) in customers' own words, through the terminal chat session.

Issue 15: 有色差, 尺码不对, 收到是坏的, 味道太大, 等了十天才到, 客服太慢了 got "小助手暂时答不
上来". Each cause of a bad review now opens a ticket with its category, answers with an
apology and that category's next step, and tells the owners with the profile line.
"""

from __future__ import annotations

import io

import pytest
from support import FIXED_NOW, make_dispatcher

from bot.channels.terminal import ChatSession
from bot.messages import ContactRef
from config.settings import Settings
from handlers.intents import Reason, default_rules, order_number_regex
from storage import contacts, tickets, unanswered

NUMBERS = order_number_regex(Settings().order_number_pattern)

# category -> phrasings a customer writes, Chinese and English.
PHRASINGS = {
    "service": [
        "客服太慢了",
        "你们客服回复太慢了，等了半天",
        "客服态度太差了",
        "问了三遍都没人回复",
        "your customer service is so slow",
        "the staff were rude to me",
        "nobody answered my messages",
    ],
    "delivery_slow": [
        "等了十天才到",
        "物流怎么这么慢",
        "快递太慢了吧",
        "发货太慢了，这么久才到",
        "it took two weeks to arrive",
        "delivery was slow",
        "shipping took forever",
    ],
    "packaging": [
        "包装太简陋了",
        "盒子都压扁了",
        "包装破了，里面的东西露出来了",
        "the box was crushed",
        "poor packaging, everything rattled around",
    ],
    "smell": [
        "味道太大",
        "衣服有股刺鼻的味道",
        "一打开就有异味",
        "it smells awful",
        "there is a strong chemical smell",
    ],
    "colour": [
        "有色差",
        "色差太大了",
        "颜色和图片不一样",
        "the colour is different from the pictures",
        "the color is off",
    ],
    "size": [
        "尺码不对",
        "码数不准，大了一码",
        "这件衣服太大了",
        "穿不下",
        "it doesn't fit",
        "the jeans are too small",
        "this jacket runs small",
    ],
    "not_as_described": [
        "与描述不符",
        "实物和图片差太多",
        "货不对板",
        "not as described",
        "looks nothing like the photos",
    ],
    "damaged": [
        "收到是坏的",
        "杯子收到就破损了",
        "屏幕裂了",
        "the parcel arrived damaged",
        "the vase is cracked",
        "it stopped working after a day",
    ],
    "quality": [
        "质量太差了",
        "洗了一次就掉色了",
        "穿了两天就起球了",
        "poor quality, it fell apart",
        "the sweater is pilling already",
    ],
    "price": [
        "太贵了，不值",
        "性价比太低",
        "not worth the money",
        "way too expensive for such a small jar",
    ],
    "fake": [
        "你们卖的是假货吧",
        "怀疑是假的",
        "这不是正品",
        "this is a fake",
        "I think it is counterfeit",
    ],
}
CASES = [(category, text) for category, texts in PHRASINGS.items() for text in texts]
# A phrase of each category's next step, in each language (config/templates/complaints.yaml).
NEXT_STEP = {
    "service": ("转给店铺负责人", "gone straight to the shop manager"),
    "delivery_slow": ("联系快递核实原因", "ask the carrier"),
    "packaging": ("拍一下包装", "photo of the box"),
    "smell": ("通风", "airing it"),
    "colour": ("自然光", "daylight"),
    "size": ("身高体重", "height, weight"),
    "not_as_described": ("哪里不一样", "what's different"),
    "damaged": ("快递面单", "shipping label"),
    "quality": ("问题部位", "the problem and the whole item"),
    "price": ("觉得不值", "didn't feel worth it"),
    "fake": ("防伪码", "authenticity code"),
}


def session(dispatcher, redis, name: str) -> tuple[ChatSession, io.StringIO]:
    out = io.StringIO()
    chat = ChatSession(
        ContactRef("console", name), dispatcher.dispatch, redis, out, lambda: FIXED_NOW
    )
    return chat, out


@pytest.mark.parametrize(("category", "text"), CASES)
def test_each_phrasing_names_its_category(category, text):
    detection = default_rules().classify(text, NUMBERS)
    assert detection is not None, text
    assert (detection.intent.name, detection.category and detection.category.name) == (
        "complaint",
        category,
    )
    assert detection.is_request


@pytest.mark.parametrize(("category", "text"), CASES)
async def test_a_complaint_in_the_terminal_opens_a_ticket_with_its_category(
    redis, settings, category, text
):
    dispatcher = make_dispatcher(redis, settings)
    chat, out = session(dispatcher, redis, "amy")
    await chat.say(text)

    [ticket] = await tickets.for_contact(redis, "console:amy")
    assert (ticket.intent, ticket.category, ticket.text) == ("complaint", category, text)
    zh, en = NEXT_STEP[category]
    printed = out.getvalue()
    assert ticket.id in printed
    assert (zh if ticket.language == "zh-CN" else en) in printed
    assert "暂时答不上来" not in printed and "don't have an answer" not in printed
    assert await unanswered.recent(redis) == []


@pytest.mark.parametrize(
    "text",
    ["有色差吗", "会掉色吗", "尺码偏大吗", "is it fake?", "会不会有色差", "是不是正品"],
)
def test_questions_before_buying_are_left_to_the_faq(text):
    detection = default_rules().classify(text, NUMBERS)
    assert detection is None or detection.reason is Reason.POLICY


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("you sent the wrong size", "wrong_item"),
        ("收到的衣服发错货了", "wrong_item"),
        ("我的包裹少发了一件", "missing_item"),
        ("我要退货", "return"),
    ],
)
def test_other_after_sales_intents_keep_their_own(text, intent):
    detection = default_rules().classify(text, NUMBERS)
    assert detection is not None and detection.intent.name == intent
    assert detection.category is None


async def test_the_answer_apologises_in_the_customers_language(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    zh = await dispatcher.dispatch(make_message("有色差", contact="console:zh"))
    en = await dispatcher.dispatch(make_message("the size is wrong", contact="console:en"))
    assert zh.replies[0].text.startswith("亲，已为您登记色差投诉，工单号 T1001")
    assert "非常抱歉" in zh.replies[0].text and "24 小时内" in zh.replies[0].text
    assert en.replies[0].text.startswith(
        "Got it: I've recorded your complaint (wrong size) as ticket T1002"
    )
    assert "sorry" in en.replies[0].text and "within 24 hours" in en.replies[0].text


async def test_owners_are_told_with_the_profile_line_category_and_script(
    redis, settings, make_message
):
    dispatcher = make_dispatcher(redis, settings)
    result = await dispatcher.dispatch(
        make_message("味道太大 订单号 202611220001", contact="telegram:77", display_name="小美")
    )
    contact = await contacts.get(redis, "telegram:77")
    [ticket] = await tickets.list_all(redis)
    assert ticket.order_number == "202611220001" and ticket.category == "smell"

    owners = {notice.recipient for notice in result.others}
    assert owners == {ContactRef("telegram", "1"), ContactRef("console", "owner")}
    text = result.others[0].text
    assert "新投诉 T1001｜异味投诉｜订单 202611220001" in text
    assert f"{contact.short_id} · telegram · 小美" in text
    assert "投诉" in text and "异味" in text  # the category's tags, already applied
    assert "/reply T1001 #异味" in text
    assert "11-24 18:00" in text  # 24 hours after 18:00 Shanghai time


async def test_the_category_tags_the_contact(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    await dispatcher.dispatch(make_message("有色差"))
    assert {"投诉", "售后", "色差"} <= set(await contacts.tags_of(redis, "console:alice"))


async def test_a_general_complaint_has_no_category(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    result = await dispatcher.dispatch(make_message("我要投诉你们"))
    [ticket] = await tickets.list_all(redis)
    assert (ticket.intent, ticket.category) == ("complaint", None)
    assert "/reply T1001 #投诉" in result.others[0].text


def test_an_owner_can_add_a_category_in_config():
    from handlers.intents import IntentRules

    rules = IntentRules.from_config(
        {
            "intents": [
                {
                    "name": "complaint",
                    "report": True,
                    "keywords": ["差评"],
                    "categories": [
                        {"name": "noise", "keywords": ["噪音大", "too noisy"]},
                        {"name": "late_gift", "report": False, "patterns": ["赠品.{0,4}没"]},
                    ],
                }
            ],
            "policy_markers": {"keywords": ["怎么"]},
        }
    )
    noise = rules.classify("风扇噪音大", NUMBERS)
    assert noise is not None and noise.category is not None
    assert (noise.category.name, noise.reason) == ("noise", Reason.REPORT)
    gift = rules.classify("赠品怎么没有", NUMBERS)
    assert gift is not None and gift.category is not None
    assert (gift.category.name, gift.reason) == ("late_gift", Reason.POLICY)


async def test_an_english_shop_gets_a_typeable_script_tag(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings.model_copy(update={"language": "en"}))
    result = await dispatcher.dispatch(make_message("货不对板"))
    notice = result.others[0].text
    assert notice.startswith("⚠️ New complaint T1001 | complaint (not as described)")
    assert "Script: /reply T1001 #not_as_described" in notice
