"""Recurring campaigns from ``config/campaigns.yaml`` (e.g. a monthly 老客户回馈).

Each entry names an id, a segment, a ``when`` (a cron line, an ISO time or
``now``), texts per language and optional buttons. ``enabled: true`` arms it at
start (a draft, never one an owner cancelled); a disabled one is loaded as a draft the owner can
send from chat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.settings import LANGUAGES

DEFAULT_CAMPAIGNS = Path(__file__).parent / "campaigns.yaml"
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """One configured campaign, as written in the file."""

    id: str
    name: str
    segment: str
    when: str
    texts: Mapping[str, str]
    buttons: tuple[Mapping[str, str], ...]
    enabled: bool


def load_campaign_specs(path: Path | None = None) -> tuple[CampaignSpec, ...]:
    """Read the campaigns file; a bad entry raises ``ValueError`` naming it."""
    source = path or DEFAULT_CAMPAIGNS
    data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    return tuple(_spec(entry) for entry in data.get("campaigns") or ())


def _spec(entry: Mapping[str, Any]) -> CampaignSpec:
    name = entry.get("id", "?")
    try:
        if not _ID.match(str(entry["id"])):
            raise ValueError(
                "the id is letters, digits, _ and - (at most 32), starting with a letter"
            )
        texts = {str(lang): str(text) for lang, text in dict(entry["texts"]).items()}
        if not texts or set(texts) - set(LANGUAGES):
            raise ValueError(f"texts must be given in {', '.join(LANGUAGES)}")
        return CampaignSpec(
            id=str(entry["id"]),
            name=str(entry.get("name", entry["id"])),
            segment=str(entry.get("segment", "")),
            when=str(entry["when"]),
            texts=texts,
            buttons=tuple(label_per_language(b) for b in entry.get("buttons") or ()),
            enabled=bool(entry.get("enabled", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"campaign {name!r}: {exc}") from None


def label_per_language(button: Any) -> dict[str, str]:
    """A button label: one text for every language, ``中文/English``, or a mapping."""
    if isinstance(button, Mapping):
        return {str(lang): str(text) for lang, text in button.items()}
    zh, sep, en = str(button).partition("/")
    if sep and zh.strip() and en.strip():
        return {"zh-CN": zh.strip(), "en": en.strip()}
    return dict.fromkeys(LANGUAGES, str(button).strip())
