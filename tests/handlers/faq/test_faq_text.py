"""Normalisation, stemming, synonyms and spelling correction."""

from __future__ import annotations

import pytest

from handlers.faq.features import Analyzer
from handlers.faq.spelling import SpellingCorrector, osa_distance
from handlers.faq.synonyms import Synonyms
from handlers.faq.text import normalise, stem


@pytest.mark.parametrize(
    ("words", "same"),
    [
        (["ship", "ships", "shipped", "shipping"], True),
        (["size", "sizes", "sizing"], True),
        (["apply", "applies", "applied"], True),
        (["refund", "refunds", "refunded", "refunding"], True),
        (["card", "cart"], False),
    ],
)
def test_stem_groups_inflections(words: list[str], same: bool) -> None:
    assert (len({stem(w) for w in words}) == 1) is same


def test_normalise_full_width_case_and_contractions() -> None:
    assert normalise("ＳＨＩＰＰＩＮＧ？") == "shipping?"
    assert normalise("I don't know what’s up") == "i do not know what up"
    assert normalise("It won't come") == "it will not come"
    assert normalise("cant pay, doesnt work") == "can not pay, does not work"


def test_spelling_corrects_within_one_or_two_edits() -> None:
    correct = SpellingCorrector(["shipping", "warranty", "coupon", "invoice", "package"])
    assert correct("shippng") == "shipping"
    assert correct("shiping") == "shiping"  # already stems like "shipping": nothing to fix
    assert correct("warrenty") == "warranty"
    assert correct("cuopon") == "coupon"  # adjacent swap counts as one edit
    assert correct("pakage") == "package"
    assert correct("invoices") == "invoices"  # a known stem is not "corrected"
    assert correct("asdfgh") == "asdfgh"
    assert correct("cat") == "cat"  # too short to correct safely
    assert osa_distance("abcd", "acbd") == 1 and osa_distance("kitten", "sitting") == 3


def test_synonym_phrases_prefer_the_longest_term() -> None:
    synonyms = Synonyms.from_groups([["cod", "cash on delivery"], ["ship", "delivery"]])
    analyzer = Analyzer(synonyms)
    assert analyzer.features("cash on delivery") == ["s:0"]
    assert analyzer.features("fast delivery")[-1] == "s:1"
    assert analyzer.features("codes") != ["s:0"]  # "codes" stems to "cod" but is not COD


def test_single_character_chinese_synonym_only_matches_whole_words() -> None:
    analyzer = Analyzer(Synonyms.from_groups([["退货", "退"], ["退款", "退钱"]]))
    assert "s:0" in analyzer.features("能退吗")
    assert "s:0" not in analyzer.features("退款多久")
    assert "s:1" in analyzer.features("退款多久")


def test_filler_words_leave_no_features() -> None:
    analyzer = Analyzer(Synonyms.empty())
    assert analyzer.features("你好，请问一下在吗？") == []
    assert analyzer.features("hi, can you please tell me") == []


def test_synonyms_load_default_file() -> None:
    synonyms = Synonyms.load()
    analyzer = Analyzer(synonyms)
    assert analyzer.features("物流") == analyzer.features("快递")
    assert analyzer.features("码数") == analyzer.features("尺码")
    assert analyzer.features("shipped") == analyzer.features("delivery")
    assert "coupon" in synonyms.english_words()
