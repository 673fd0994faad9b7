"""Knowledge base: loading, validation messages, language fallback and dump round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from handlers.faq.knowledge import (
    FaqButton,
    FaqEntry,
    KnowledgeBase,
    KnowledgeBaseError,
    answer_for,
    default_kb_path,
    text_for,
)

ENTRY = {
    "id": "shipping_time",
    "questions": ["几天发货", "how long does shipping take"],
    "answer": {"zh-CN": "亲，48小时内发货哦", "en": "We ship within 48 hours."},
    "tags": ["物流"],
    "buttons": [{"label": {"zh-CN": "查物流", "en": "Track"}, "payload": "track"}],
}


def write_yaml(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "kb.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_load_parses_every_field(tmp_path: Path) -> None:
    kb = KnowledgeBase.load(write_yaml(tmp_path, [ENTRY]))
    entry = kb["shipping_time"]
    assert entry.questions == ("几天发货", "how long does shipping take")
    assert entry.tags == ("物流",)
    assert entry.buttons == (FaqButton(label={"zh-CN": "查物流", "en": "Track"}, payload="track"),)
    assert len(kb) == 1 and "shipping_time" in kb and kb.get("missing") is None


def test_load_accepts_entries_mapping(tmp_path: Path) -> None:
    kb = KnowledgeBase.load(write_yaml(tmp_path, {"entries": [ENTRY]}))
    assert [e.id for e in kb] == ["shipping_time"]


def test_dump_round_trip(tmp_path: Path) -> None:
    plain = {"id": "plain", "questions": ["q"], "answer": "same in every language"}
    kb = KnowledgeBase.from_entries([ENTRY, plain])
    out = tmp_path / "out.yaml"
    kb.dump(out)
    again = KnowledgeBase.load(out)
    assert again == kb
    assert again.to_data() == [ENTRY, plain]
    assert "亲，48小时内发货哦" in out.read_text(encoding="utf-8")  # written as UTF-8, not escaped


def test_default_knowledge_base_round_trips(tmp_path: Path) -> None:
    kb = KnowledgeBase.load(default_kb_path())
    kb.dump(tmp_path / "copy.yaml")
    assert KnowledgeBase.load(tmp_path / "copy.yaml") == kb


def test_with_entry_adds_and_replaces_then_persists(tmp_path: Path) -> None:
    kb = KnowledgeBase.from_entries([ENTRY])
    added = kb.with_entry(FaqEntry(id="gift", questions=("gift wrap?",), answer="Yes"))
    edited = added.with_entry(FaqEntry(id="shipping_time", questions=("多久发货",), answer="2天"))
    assert [e.id for e in edited] == ["shipping_time", "gift"]
    assert edited["shipping_time"].answer == "2天"
    assert [e.id for e in edited.without_entry("gift")] == ["shipping_time"]
    assert [e.id for e in kb] == ["shipping_time"]  # the original is unchanged
    edited.dump(tmp_path / "kb.yaml")
    assert KnowledgeBase.load(tmp_path / "kb.yaml") == edited


@pytest.mark.parametrize(
    ("entry", "entry_id", "field"),
    [
        ({**ENTRY, "questions": []}, "shipping_time", "questions"),
        ({**ENTRY, "questions": ["ok", ""]}, "shipping_time", "questions"),
        ({**ENTRY, "answer": None}, "shipping_time", "answer"),
        ({**ENTRY, "answer": {"fr": "bonjour"}}, "shipping_time", "answer"),
        ({**ENTRY, "answer": {"en": ""}}, "shipping_time", "answer"),
        ({**ENTRY, "tags": "物流"}, "shipping_time", "tags"),
        ({**ENTRY, "buttons": [{"label": "x"}]}, "shipping_time", "buttons[0].payload"),
        ({**ENTRY, "buttons": [{"payload": "x"}]}, "shipping_time", "buttons[0].label"),
        ({**ENTRY, "colour": "red"}, "shipping_time", "colour"),
        ({**ENTRY, "id": ""}, "#0", "id"),
    ],
)
def test_validation_names_entry_and_field(entry: dict, entry_id: str, field: str) -> None:
    with pytest.raises(KnowledgeBaseError) as info:
        KnowledgeBase.from_entries([entry])
    assert info.value.entry_id == entry_id
    assert info.value.field == field
    assert repr(entry_id) in str(info.value) and repr(field) in str(info.value)


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(KnowledgeBaseError, match="duplicate"):
        KnowledgeBase.from_entries([ENTRY, ENTRY])


def test_top_level_must_be_a_list(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="list of entries"):
        KnowledgeBase.load(write_yaml(tmp_path, {"id": "x"}))


def test_answer_for_picks_language_with_fallback() -> None:
    both = KnowledgeBase.from_entries([ENTRY])["shipping_time"]
    english_only = FaqEntry(id="e", questions=("q",), answer={"en": "English"})
    assert answer_for(both, "zh-CN") == "亲，48小时内发货哦"
    assert answer_for(both, "zh_TW") == "亲，48小时内发货哦"
    assert answer_for(both, "en-US") == "We ship within 48 hours."
    assert answer_for(both, None) == "亲，48小时内发货哦"  # the shop's default language
    assert answer_for(english_only, "zh-CN") == "English"
    assert text_for("plain", "en") == "plain"


def test_default_knowledge_base_is_bilingual_and_tagged() -> None:
    kb = KnowledgeBase.load(default_kb_path())
    assert len(kb) >= 15
    for entry in kb:
        zh = [q for q in entry.questions if any("\u4e00" <= c <= "\u9fff" for c in q)]
        en = [q for q in entry.questions if q.isascii()]
        assert len(zh) >= 5 and len(en) >= 5, entry.id
        assert set(entry.answer) == {"zh-CN", "en"}, entry.id
        assert entry.tags, entry.id
        assert "{" not in answer_for(entry, "en") and "XX" not in answer_for(entry, "zh-CN")
