"""Intent rules: which intent a message is, and request (ticket) versus policy question (FAQ)."""

from __future__ import annotations

import pytest

from config.settings import Settings
from handlers.intents import Reason, default_rules, find_order_number, order_number_regex
from handlers.words import wants_handoff, wants_optin, wants_optout

NUMBERS = order_number_regex(Settings().order_number_pattern)


def classify(text: str):
    return default_rules().classify(text, NUMBERS)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("七天无理由退货吗", "return"),
        ("怎么退货", "return"),
        ("我想问一下可以换货吗", "exchange"),
        ("支持货到付款吗", "cash_on_delivery"),
        ("退款多久到账？", "refund"),
        ("how do returns work", "return"),
        ("do you offer refunds?", "refund"),
        ("Can I exchange an item for a different size?", "exchange"),
        ("is cash on delivery available?", "cash_on_delivery"),
    ],
)
def test_policy_questions_are_left_to_the_faq(text, intent):
    detection = classify(text)
    assert detection is not None and detection.intent.name == intent
    assert detection.reason is Reason.POLICY and not detection.is_request


@pytest.mark.parametrize(
    ("text", "intent", "reason"),
    [
        ("我要退货", "return", Reason.PERSONAL),
        ("I want to return my order", "return", Reason.PERSONAL),
        ("退货 订单号 202611220001", "return", Reason.ORDER_NUMBER),
        ("can I return 202611220001?", "return", Reason.ORDER_NUMBER),
        ("退款", "refund", Reason.STATEMENT),
        ("refund please", "refund", Reason.PERSONAL),
        ("我的快递到哪了？", "where_is_order", Reason.PERSONAL),
        ("快递到哪了？", "where_is_order", Reason.REPORT),
        ("发错货了怎么办", "wrong_item", Reason.REPORT),
        ("you sent the wrong size", "wrong_item", Reason.REPORT),
        ("差评！", "complaint", Reason.REPORT),
        ("这件衣服坏了", "complaint", Reason.REPORT),
    ],
)
def test_requests_about_an_own_order_are_tickets(text, intent, reason):
    detection = classify(text)
    assert detection is not None and detection.intent.name == intent
    assert detection.reason is reason and detection.is_request


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我的快递到哪了", "where_is_order"),
        ("帮我查一下物流", "where_is_order"),
        ("where is my parcel", "where_is_order"),
        ("我要退货", "return"),
        ("I'd like to return these shoes", "return"),
        ("我想换个尺码", "exchange"),
        ("I need to exchange my jacket", "exchange"),
        ("我要退款", "refund"),
        ("I want a refund", "refund"),
        ("帮我取消订单", "cancel"),
        ("please cancel my order", "cancel"),
        ("收到的衣服发错货了", "wrong_item"),
        ("I received the wrong item", "wrong_item"),
        ("我的包裹少发了一件", "missing_item"),
        ("an item is missing from my parcel", "missing_item"),
        ("杯子收到就破损了", "complaint"),
        ("my blender arrived broken", "complaint"),
        ("我要投诉你们", "complaint"),
        ("I want to complain about your service", "complaint"),
        ("我要改地址", "address_change"),
        ("I need to change my delivery address", "address_change"),
        ("帮我确认一下货到付款", "cash_on_delivery"),
        ("please confirm my cash on delivery order", "cash_on_delivery"),
    ],
)
def test_each_intent_in_chinese_and_english(text, intent):
    detection = classify(text)
    assert detection is not None, text
    assert (detection.intent.name, detection.is_request) == (intent, True)


@pytest.mark.parametrize(
    "text", ["多久能发货", "你们用什么快递", "what payment methods do you take", "你好"]
)
def test_other_questions_have_no_order_intent(text):
    assert classify(text) is None


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("退货 订单号 202611220001", "202611220001"),
        ("订单号：２０２６１１２２０００１", "202611220001"),
        ("order SO20261122 please", "SO20261122"),
        ("order202611220001 is late", "202611220001"),
        ("单号1234567", None),
        ("订单 123456789012345678901", None),
    ],
)
def test_order_numbers_default_pattern(text, number):
    assert find_order_number(text, NUMBERS) == number


def test_order_number_pattern_is_a_setting():
    custom = order_number_regex(Settings(order_number_pattern=r"\bDD\d{6}\b").order_number_pattern)
    assert find_order_number("退货 DD123456", custom) == "DD123456"
    assert find_order_number("退货 202611220001", custom) is None


@pytest.mark.parametrize("bad", ["(", "\\d*"])
def test_bad_order_number_pattern_is_refused(bad):
    with pytest.raises(ValueError, match="order_number_pattern"):
        Settings(order_number_pattern=bad)


@pytest.mark.parametrize(
    ("text", "handoff"),
    [
        ("人工", True),
        ("转人工！", True),
        ("帮我转人工吧", True),
        ("客服", True),
        ("Human", True),
        ("agent", True),
        ("can I talk to a person please", True),
        ("客服电话是多少", False),
        ("is this made by humans", False),
    ],
)
def test_handoff_words(text, handoff):
    assert wants_handoff(text) is handoff


def test_optout_and_optin_words_are_whole_messages():
    assert all(wants_optout(w) for w in ["TD", "td", "退订", "STOP", "Unsubscribe.", "取消订阅"])
    assert not wants_optout("please don't stop the discounts")
    assert all(wants_optin(w) for w in ["订阅", "START", "start", "subscribe"])
    assert not wants_optin("when does the sale start")
