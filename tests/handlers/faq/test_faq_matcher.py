"""The matcher on the shipped knowledge base: paraphrases, typos, synonyms, refusals."""

from __future__ import annotations

import time

import pytest

from handlers.faq.decision import Hit
from handlers.faq.knowledge import FaqEntry, KnowledgeBase, default_kb_path
from handlers.faq.matcher import FaqMatcher
from handlers.faq.synonyms import Synonyms
from handlers.faq.text import normalise

# Paraphrases written for these tests; none is a question of the knowledge base.
PARAPHRASES = [
    ("东西几天能到", "shipping_time"),
    ("你们一般多久发货呀", "shipping_time"),
    ("下单以后多长时间能收到", "shipping_time"),
    ("how long does delivery take", "shipping_time"),
    ("what carrier do you use", "carriers"),
    ("你们用哪个快递", "carriers"),
    ("能发顺丰吗", "carriers"),
    ("which delivery company do you use", "carriers"),
    ("可以开发票吗", "invoice"),
    ("能给我开个发票吗", "invoice"),
    ("i need an invoice for my company", "invoice"),
    ("do u take cash on delivery", "cash_on_delivery"),
    ("能货到付款吗", "cash_on_delivery"),
    ("七天无理由退货吗", "returns_7day"),
    ("不想要了可以退吗", "returns_7day"),
    ("can i send it back if i don't want it", "returns_7day"),
    ("尺码偏小吗", "size_guide"),
    ("码数怎么选", "size_guide"),
    ("does this run small", "size_guide"),
    ("有三包吗", "warranty"),
    ("东西坏了怎么办", "warranty"),
    ("包邮不", "shipping_fee"),
    ("运费怎么收", "shipping_fee"),
    ("物流怎么查", "tracking"),
    ("how can i track my order", "tracking"),
    ("能用花呗吗", "payment_methods"),
    ("付款方式有哪些", "payment_methods"),
    ("有优惠吗", "discounts_coupons"),
    ("any discount codes", "discounts_coupons"),
    ("is it real or fake", "authenticity"),
    ("are they genuine products", "authenticity"),
    ("can you gift wrap it", "packaging"),
    ("会员等级有哪些", "membership"),
    ("what do vip members get", "membership"),
    ("let me talk to a real person", "human_agent"),
    ("我要找真人客服", "human_agent"),
    ("能发到新疆吗", "shipping_areas"),
    ("do you deliver to the usa", "shipping_areas"),
    ("退款几天到账", "refund_time"),
    ("when do i get my refund", "refund_time"),
    ("能换个尺码吗", "exchanges"),
    ("can i exchange for a bigger size", "exchanges"),
]

TYPOS = [
    ("shiping time", "shipping_time"),
    ("whats the retrun policy", "returns_7day"),
    ("how do i trak my pakage", "tracking"),
    ("do you have any cupons", "discounts_coupons"),
    ("what is the warrenty", "warranty"),
]

NOT_ANSWERED = [
    "今天天气怎么样",
    "what's the capital of France",
    "asdfgh",
    "",
    "   ",
    "你好",
    "hello",
    "谢谢",
    "我想吃火锅",
    "tell me a joke",
    "who won the football game",
    "帮我写一首诗",
    "1234567",
]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(default_kb_path())


@pytest.fixture(scope="module")
def matcher(kb: KnowledgeBase) -> FaqMatcher:
    return FaqMatcher(kb)


def test_paraphrases_are_not_copied_from_the_knowledge_base(kb: KnowledgeBase) -> None:
    known = {normalise(q) for entry in kb for q in entry.questions}
    assert len(PARAPHRASES) >= 25
    assert not [q for q, _ in PARAPHRASES + TYPOS if normalise(q) in known]
    assert {faq_id for _, faq_id in PARAPHRASES} == {e.id for e in kb}


@pytest.mark.parametrize(("question", "faq_id"), PARAPHRASES)
def test_paraphrase_is_answered(matcher: FaqMatcher, question: str, faq_id: str) -> None:
    decision = matcher.decide(question)
    assert (decision.answered, decision.faq_id) == (True, faq_id), decision
    assert decision.score >= matcher.policy.threshold


@pytest.mark.parametrize(("question", "faq_id"), TYPOS)
def test_typos_are_tolerated(matcher: FaqMatcher, question: str, faq_id: str) -> None:
    decision = matcher.decide(question)
    assert (decision.answered, decision.faq_id) == (True, faq_id), decision


@pytest.mark.parametrize("question", NOT_ANSWERED)
def test_unrelated_questions_are_not_answered(matcher: FaqMatcher, question: str) -> None:
    decision = matcher.decide(question)
    assert decision.answered is False
    assert decision.faq_id is None
    assert decision.score < matcher.policy.threshold


def test_word_order_does_not_matter(matcher: FaqMatcher) -> None:
    a = matcher.search("cash on delivery do you accept", limit=1)
    b = matcher.search("do you accept cash on delivery", limit=1)
    assert a == b and a[0].faq_id == "cash_on_delivery"
    assert matcher.decide("发票可以开吗").faq_id == "invoice"


def test_filler_words_do_not_change_the_match(matcher: FaqMatcher) -> None:
    plain = matcher.search("运费多少", limit=1)
    padded = matcher.search("你好，请问一下运费多少呢啊", limit=1)
    assert plain == padded and plain[0].faq_id == "shipping_fee"
    assert matcher.search("hi can you please tell me the shipping cost", limit=1)[0].faq_id == (
        "shipping_fee"
    )


def test_synonyms_map_to_one_canonical_form() -> None:
    kb = KnowledgeBase.from_entries(
        [
            FaqEntry(id="size", questions=("尺码怎么选", "how does sizing work"), answer="a"),
            FaqEntry(id="ship", questions=("快递多久", "when do you ship"), answer="b"),
        ]
    )
    with_synonyms = FaqMatcher(kb)
    without = FaqMatcher(kb, synonyms=Synonyms.empty())
    cases = [("码数怎么选", "size"), ("物流多久", "ship"), ("what's the fit", "size")]
    for question, faq_id in cases:
        assert with_synonyms.decide(question).faq_id == faq_id
        assert with_synonyms.search(question)[0].score > _score(without, question, faq_id)


def test_custom_synonym_groups_apply() -> None:
    kb = KnowledgeBase.from_entries(
        [
            FaqEntry(id="sofa", questions=("sofa cleaning",), answer="x"),
            FaqEntry(id="carpet", questions=("carpet cleaning",), answer="y"),
        ]
    )
    synonyms = Synonyms.from_groups([["sofa", "couch", "settee"]])
    assert FaqMatcher(kb, synonyms=synonyms).decide("couch cleaning").faq_id == "sofa"
    assert FaqMatcher(kb, synonyms=Synonyms.empty()).decide("couch cleaning").answered is False


def test_full_width_and_case_are_normalised(matcher: FaqMatcher) -> None:
    assert matcher.decide("ＨＯＷ ＭＵＣＨ ＩＳ ＳＨＩＰＰＩＮＧ？").faq_id == "shipping_fee"
    assert matcher.decide("可以开发票吗？？").faq_id == "invoice"


def _score(matcher: FaqMatcher, question: str, faq_id: str) -> float:
    return next((h.score for h in matcher.search(question, limit=10) if h.faq_id == faq_id), 0.0)


@pytest.mark.parametrize("question", ["退换货", "shipping", "快递"])
def test_close_entries_are_ambiguous(matcher: FaqMatcher, question: str) -> None:
    decision = matcher.decide(question)
    assert decision.ambiguous is True and decision.answered is False and decision.faq_id is None
    assert len(decision.alternatives) >= 2
    top, second = decision.alternatives[:2]
    assert top.faq_id != second.faq_id
    assert top.score - second.score < matcher.policy.margin
    assert decision.score == top.score >= matcher.policy.threshold


def test_margin_and_threshold_are_parameters(kb: KnowledgeBase) -> None:
    assert FaqMatcher(kb, margin=0.0).decide("shipping").answered is True
    strict = FaqMatcher(kb, threshold=0.99)
    assert strict.decide("可以开发票吗").answered is False
    assert strict.decide("可以开发票吗").alternatives[0].faq_id == "invoice"


def test_search_ranks_distinct_entries(matcher: FaqMatcher) -> None:
    hits = matcher.search("退货运费谁出", limit=3)
    assert all(isinstance(h, Hit) for h in hits)
    assert len({h.faq_id for h in hits}) == len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(0.0 < h.score <= 1.0 for h in hits)


def test_answered_decision_lists_runner_ups(matcher: FaqMatcher) -> None:
    decision = matcher.decide("how long does delivery take")
    assert decision.answered and decision.alternatives
    assert all(h.faq_id != decision.faq_id for h in decision.alternatives)
    assert all(h.score < decision.score for h in decision.alternatives)


def test_empty_knowledge_base_answers_nothing() -> None:
    matcher = FaqMatcher(KnowledgeBase(()))
    assert matcher.search("几天发货") == []
    assert matcher.decide("几天发货").answered is False


def test_queries_are_fast_on_the_default_knowledge_base(matcher: FaqMatcher) -> None:
    questions = [q for q, _ in PARAPHRASES] * 5
    start = time.perf_counter()
    for question in questions:
        matcher.decide(question)
    per_query_ms = (time.perf_counter() - start) * 1000 / len(questions)
    assert per_query_ms < 5  # generous for slow CI; bench/faq_quality.py measures properly
