"""Languages and message templates (zh-CN and en), chosen from the customer's language."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from config.placeholders import fill
from config.settings import LANGUAGES

TEMPLATES_DIR = Path(__file__).parent / "templates"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str | None:
    """``zh-CN`` if the text has Chinese characters, ``en`` if it has Latin letters, else None."""
    if _CJK.search(text):
        return "zh-CN"
    if _LATIN.search(text):
        return "en"
    return None


class Templates:
    """Message templates keyed by name, each with a text per language.

    ``render`` falls back to the other language when one is missing, and
    formats ``{placeholders}`` from keyword arguments.
    """

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = {key: dict(per_lang) for key, per_lang in texts.items()}

    @classmethod
    def load(cls, *paths: Path) -> Templates:
        """Load and merge YAML files; a key defined in two files is an error."""
        merged: dict[str, dict[str, str]] = {}
        origin: dict[str, Path] = {}
        for path in paths:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for key, per_lang in data.items():
                if key in origin:
                    raise ValueError(f"template {key!r} is in both {origin[key]} and {path}")
                origin[key] = path
                merged[key] = dict(per_lang)
        return cls(merged)

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def languages_of(self, key: str) -> set[str]:
        """The languages ``key`` has a text in."""
        return set(self._texts[key])

    def text(self, key: str, language: str) -> str:
        """The raw template for ``key`` in ``language`` (or its fallback)."""
        per_lang = self._texts[key]
        if language in per_lang:
            return per_lang[language]
        for fallback in LANGUAGES:
            if fallback in per_lang:
                return per_lang[fallback]
        raise KeyError(f"template {key!r} has no text")

    def render(self, key: str, language: str, **fields: Any) -> str:
        """Render ``key`` in ``language`` with ``fields``."""
        return fill(self.text(key, language), fields)


@cache
def default_templates() -> Templates:
    """Every ``*.yaml`` in ``config/templates``, merged in name order."""
    return Templates.load(*sorted(TEMPLATES_DIR.glob("*.yaml")))


def normalize_language(code: str | None) -> str | None:
    """Map a platform's language code (``zh-hans``, ``zh_CN``, ``en-US``...) to ours."""
    if not code:
        return None
    lowered = code.lower().replace("_", "-")
    if lowered.startswith("zh"):
        return "zh-CN"
    if lowered.startswith("en"):
        return "en"
    return None
