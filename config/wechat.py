"""WeChat configuration files: the custom menu's keys and the template messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.placeholders import fill

CONFIG_DIR = Path(__file__).parent
DEFAULT_MENU_FILE = CONFIG_DIR / "wechat_menu.yaml"
DEFAULT_TEMPLATES_FILE = CONFIG_DIR / "wechat_templates.yaml"
TEMPLATE_PURPOSES = frozenset({"transactional", "reply"})
TEMPLATE_PLACEHOLDERS = ("text", "shop_name", "date")


class WeChatConfigError(ValueError):
    """A WeChat configuration file is malformed; the message names the file and entry."""


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """One template message: its id, optional link, and how to fill each field."""

    template_id: str
    fields: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None

    def render(self, **values: str) -> dict[str, dict[str, str]]:
        """The ``data`` WeChat expects: ``{field: {"value": text}}``."""
        return {name: {"value": fill(spec, values)} for name, spec in self.fields.items()}


def load_menu(path: Path | None = None) -> dict[str, str]:
    """CLICK menu key -> the text it stands for."""
    source = path or DEFAULT_MENU_FILE
    menu = _read(source).get("menu") or {}
    if not isinstance(menu, dict) or not all(isinstance(v, str) for v in menu.values()):
        raise WeChatConfigError(f"{source}: `menu` must map each key to a text")
    return {str(key): text for key, text in menu.items()}


def load_templates(path: Path | None = None) -> dict[str, TemplateSpec]:
    """Purpose (``transactional``, ``reply``) -> template message."""
    source = path or DEFAULT_TEMPLATES_FILE
    entries = _read(source).get("templates") or {}
    specs = {}
    for purpose, entry in entries.items():
        if purpose not in TEMPLATE_PURPOSES:
            raise WeChatConfigError(
                f"{source}: no template for {purpose!r}; only {sorted(TEMPLATE_PURPOSES)}"
            )
        specs[purpose] = _template(source, purpose, entry)
    return specs


def _template(source: Path, purpose: str, entry: Any) -> TemplateSpec:
    if not isinstance(entry, dict) or not entry.get("template_id"):
        raise WeChatConfigError(f"{source}: {purpose} needs a template_id")
    fields = {str(k): str(v or "") for k, v in (entry.get("fields") or {}).items()}
    sample = dict.fromkeys(TEMPLATE_PLACEHOLDERS, "")
    for name, spec in fields.items():
        try:
            fill(spec, sample)
        except (KeyError, IndexError, ValueError) as exc:
            raise WeChatConfigError(f"{source}: {purpose}.{name}: bad placeholder {exc}") from None
    return TemplateSpec(str(entry["template_id"]), fields, entry.get("url") or None)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise WeChatConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise WeChatConfigError(f"{path}: expected a mapping")
    return data
