"""The FAQ knowledge base: entries with phrasings and bilingual answers, kept in YAML.

A knowledge-base file is a YAML list of entries (a mapping with an ``entries`` list
is accepted too)::

    - id: shipping_time
      questions: [几天发货, how long does shipping take]
      answer: {zh-CN: 亲，..., en: Hi, ...}     # or a plain string
      tags: [售前, 物流]                          # optional
      buttons:                                   # optional
        - {label: {zh-CN: 查物流, en: Track}, payload: track_order}

Everything is immutable; :meth:`KnowledgeBase.with_entry` and
:meth:`KnowledgeBase.without_entry` return edited copies that :meth:`KnowledgeBase.dump`
persists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

import config

LANGUAGES = ("zh-CN", "en")
"""Languages an answer or label may be written in; the first is the shop's default."""

LocalText = str | Mapping[str, str]
"""A text that is either language-neutral or a mapping of language to text."""

_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def default_kb_path() -> Path:
    """``faq/default.yaml`` inside the installed ``config`` package."""
    return Path(config.__file__).parent / "faq" / "default.yaml"


class KnowledgeBaseError(ValueError):
    """A knowledge base that cannot be loaded; names the entry id and the field."""

    def __init__(self, entry_id: str | None, field_name: str, problem: str) -> None:
        self.entry_id = entry_id
        self.field = field_name
        where = f"entry {entry_id!r}" if entry_id is not None else "knowledge base"
        super().__init__(f"{where}: field {field_name!r}: {problem}")


@dataclass(frozen=True, slots=True)
class FaqButton:
    """A quick-reply button shown under an answer."""

    label: LocalText
    payload: str


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One question the shop answers, with the ways customers phrase it."""

    id: str
    questions: tuple[str, ...]
    answer: LocalText
    tags: tuple[str, ...] = ()
    buttons: tuple[FaqButton, ...] = ()


@dataclass(frozen=True)
class KnowledgeBase:
    """An ordered, immutable collection of :class:`FaqEntry` with unique ids."""

    entries: tuple[FaqEntry, ...]
    _by_id: Mapping[str, FaqEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, FaqEntry] = {}
        for entry in self.entries:
            if entry.id in by_id:
                raise KnowledgeBaseError(entry.id, "id", "duplicate id")
            by_id[entry.id] = entry
        object.__setattr__(self, "_by_id", MappingProxyType(by_id))

    @classmethod
    def load(cls, path: str | Path) -> KnowledgeBase:
        """Read and validate a YAML knowledge base."""
        with Path(path).open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Any) -> KnowledgeBase:
        """Validate parsed YAML (a list of entry mappings, or ``{entries: [...]}``)."""
        if isinstance(data, Mapping) and "entries" in data:
            data = data["entries"]
        if data is None:
            data = []
        if not isinstance(data, list):
            raise KnowledgeBaseError(None, "entries", "expected a list of entries")
        return cls.from_entries(data)

    @classmethod
    def from_entries(cls, entries: Iterable[FaqEntry | Mapping[str, Any]]) -> KnowledgeBase:
        """Build from entries or entry mappings, validating the mappings."""
        built = tuple(
            e if isinstance(e, FaqEntry) else parse_entry(e, position=i)
            for i, e in enumerate(entries)
        )
        return cls(built)

    def dump(self, path: str | Path) -> None:
        """Write the knowledge base as YAML that :meth:`load` reads back unchanged."""
        text = yaml.safe_dump(self.to_data(), allow_unicode=True, sort_keys=False, width=100)
        Path(path).write_text(text, encoding="utf-8")

    def to_data(self) -> list[dict[str, Any]]:
        """Plain YAML-ready data for every entry."""
        return [entry_to_data(e) for e in self.entries]

    def get(self, entry_id: str) -> FaqEntry | None:
        """The entry with this id, or ``None``."""
        return self._by_id.get(entry_id)

    def __getitem__(self, entry_id: str) -> FaqEntry:
        return self._by_id[entry_id]

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id

    def __iter__(self) -> Iterator[FaqEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def with_entry(self, entry: FaqEntry) -> KnowledgeBase:
        """A copy with ``entry`` added, or replacing the entry with the same id in place."""
        if entry.id not in self._by_id:
            return KnowledgeBase((*self.entries, entry))
        return KnowledgeBase(tuple(entry if e.id == entry.id else e for e in self.entries))

    def without_entry(self, entry_id: str) -> KnowledgeBase:
        """A copy without the entry ``entry_id`` (unchanged if it is absent)."""
        return KnowledgeBase(tuple(e for e in self.entries if e.id != entry_id))


def answer_for(entry: FaqEntry, language: str | None) -> str:
    """The entry's answer in the customer's language, falling back to the other one."""
    return text_for(entry.answer, language)


def text_for(text: LocalText, language: str | None) -> str:
    """Pick the best variant of a :data:`LocalText` for ``language`` (e.g. ``zh``, ``en-US``)."""
    if isinstance(text, str):
        return text
    wanted = _normalise_language(language)
    for lang in (wanted, *LANGUAGES, *text.keys()):
        if text.get(lang):
            return text[lang]
    return ""


def _normalise_language(language: str | None) -> str:
    tag = (language or "").strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return LANGUAGES[0]


def parse_entry(data: Any, position: int = 0) -> FaqEntry:
    """Validate one entry mapping; errors name the entry id (or its position) and field."""
    if not isinstance(data, Mapping):
        raise KnowledgeBaseError(f"#{position}", "entry", "expected a mapping")
    entry_id = data.get("id")
    if not isinstance(entry_id, str) or not _ID_PATTERN.match(entry_id):
        raise KnowledgeBaseError(
            f"#{position}", "id", "must be a non-empty string of letters, digits, _ . -"
        )
    unknown = set(data) - {"id", "questions", "answer", "tags", "buttons"}
    if unknown:
        raise KnowledgeBaseError(entry_id, sorted(unknown)[0], "unknown field")
    return FaqEntry(
        id=entry_id,
        questions=_parse_strings(entry_id, "questions", data.get("questions"), required=True),
        answer=_parse_local_text(entry_id, "answer", data.get("answer")),
        tags=_parse_strings(entry_id, "tags", data.get("tags"), required=False),
        buttons=_parse_buttons(entry_id, data.get("buttons")),
    )


def _parse_strings(entry_id: str, name: str, value: Any, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise KnowledgeBaseError(entry_id, name, "expected a non-empty list of strings")
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise KnowledgeBaseError(entry_id, name, "every item must be a non-empty string")
    return tuple(v.strip() for v in value)


def _parse_local_text(entry_id: str, name: str, value: Any) -> LocalText:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Mapping) and value:
        unknown = [k for k in value if k not in LANGUAGES]
        if unknown:
            raise KnowledgeBaseError(
                entry_id, name, f"unknown language {unknown[0]!r}; use {', '.join(LANGUAGES)}"
            )
        if not all(isinstance(v, str) and v.strip() for v in value.values()):
            raise KnowledgeBaseError(entry_id, name, "every language needs a non-empty string")
        return MappingProxyType(dict(value))
    raise KnowledgeBaseError(entry_id, name, "expected a string or a mapping of language to text")


def _parse_buttons(entry_id: str, value: Any) -> tuple[FaqButton, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise KnowledgeBaseError(entry_id, "buttons", "expected a list")
    buttons = []
    for i, item in enumerate(value):
        where = f"buttons[{i}]"
        if not isinstance(item, Mapping):
            raise KnowledgeBaseError(entry_id, where, "expected a mapping with label and payload")
        payload = item.get("payload")
        if not isinstance(payload, str) or not payload.strip():
            raise KnowledgeBaseError(entry_id, f"{where}.payload", "expected a non-empty string")
        label = _parse_local_text(entry_id, f"{where}.label", item.get("label"))
        buttons.append(FaqButton(label=label, payload=payload))
    return tuple(buttons)


def entry_to_data(entry: FaqEntry) -> dict[str, Any]:
    """Plain data for one entry, omitting empty optional fields."""
    data: dict[str, Any] = {
        "id": entry.id,
        "questions": list(entry.questions),
        "answer": _local_text_to_data(entry.answer),
    }
    if entry.tags:
        data["tags"] = list(entry.tags)
    if entry.buttons:
        data["buttons"] = [
            {"label": _local_text_to_data(b.label), "payload": b.payload} for b in entry.buttons
        ]
    return data


def _local_text_to_data(text: LocalText) -> str | dict[str, str]:
    return text if isinstance(text, str) else dict(text)
