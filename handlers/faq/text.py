"""Text normalisation shared by indexing and querying: one function decides what a word is.

Chinese runs are segmented with jieba and also cut into character bigrams (robust to
segmentation differences); English is lower-cased, stripped of punctuation and
suffix-stemmed. Filler words on both sides are dropped, so "请问一下几天发货呀" and
"几天发货" look alike.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

import jieba


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ZH_STOPWORDS = _words(
    """
    请问 问下 问一下 想问 想问下 想问一下 你好 您好 哈喽 嗨 在吗 在不在 在么 亲 亲亲
    老板 客服 美女 帅哥 吗 呢 啊 呀 吧 哦 噢 嗯 哈 呗 么 嘛 啦 哇 喔 哎 诶 额 呃 的 地
    得 了 着 过 是 就 都 还 也 又 才 一下 下 请 麻烦 帮 帮忙 帮我 我 我们 我的 你 你们
    您 你家 贵店 店 店里 那 那个 这个 这 那么 这么 和 跟 与 及 或 或者 给 把 被 让 对
    怎么 怎么样 怎样 如何 什么 啥 咋 为什么 可以 可不可以 可否 能 能不能 能否 会 会不会
    在 要 想 想要 需要 有没有 是不是 是否 谢谢 多谢 感谢 好的 好 一个 个
    东西 商品 宝贝 产品 订单
    """
)
"""Chinese filler: greetings, particles, pronouns and question scaffolding."""

EN_STOPWORDS = _words(
    """
    a an the i me my mine myself we us our ours you your yours u
    ur ya it its this that these those is am are was were be been being
    do does did done doing have has had having to of for in on at by
    with from into and or but if so as than then too very just also really
    please pls plz kindly hi hello hey dear sir madam thanks thank thx ok okay yes
    can could would should shall may might will what whats which who whom how there here
    some any anything something about tell know let want wanted wanting need like get got im
    ive id hmm um well again possible
    stuff thing things item items goods product products order orders
    """
)
"""English filler: articles, pronouns, auxiliaries, greetings and question scaffolding."""

_TOKEN = re.compile(r"§\d+|[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NEGATED = "do|does|did|is|are|was|were|have|has|had|could|would|should|must|need"
_CONTRACTIONS = (
    (re.compile(r"\bcan'?t\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(rf"\b({_NEGATED})n'?t\b"), r"\1 not"),
    (re.compile(r"'(s|re|ve|ll|d|m)\b"), ""),
)
"""Expanded so that "don't", "dont" and "do not" agree; other clitics are dropped."""

jieba.setLogLevel(logging.WARNING)


@lru_cache(maxsize=1)
def _segmenter() -> jieba.Tokenizer:
    # A private tokenizer: words we might add never leak into other users of jieba.
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), lower case, unified apostrophes, expanded n't."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("`", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def is_cjk(text: str) -> bool:
    """True when ``text`` contains a CJK ideograph."""
    return _CJK.search(text) is not None


def raw_tokens(text: str) -> list[str]:
    """Split normalised text into ``§n`` markers, latin/digit words and CJK runs."""
    return _TOKEN.findall(text)


def segment(run: str) -> list[str]:
    """jieba segmentation of one CJK run."""
    words: list[str] = _segmenter().lcut(run, HMM=False)
    return words


def stem(word: str) -> str:
    """A small suffix stemmer: plurals, -ing, -ed, -ly and a final -e.

    It only has to map inflections of one word to the same key; it never has to be a
    real lemma ("sizing" and "size" both become "siz").
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = _undouble(word[: -len(suffix)])
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    if len(word) >= 3 and word[-1] == word[-2] and word[-1] not in "lsz" and word[-1].isalpha():
        return word[:-1]
    return word


def char_bigrams(run: str) -> list[str]:
    """Overlapping character bigrams of a CJK string (the string itself if one character)."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


def char_ngrams(word: str, n: int = 3) -> list[str]:
    """Character n-grams of a word with boundary marks, e.g. ``^sh shi hip ... ng$``."""
    padded = f"^{word}$"
    if len(padded) <= n:
        return [padded]
    return [padded[i : i + n] for i in range(len(padded) - n + 1)]
