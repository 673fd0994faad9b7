"""Message templates: every shipped template loads, once, in both languages."""

from __future__ import annotations

import pytest

from config.i18n import TEMPLATES_DIR, Templates, default_templates
from config.settings import LANGUAGES


def test_every_template_has_both_languages():
    templates = default_templates()
    missing = [key for key in templates if not set(LANGUAGES) <= templates.languages_of(key)]
    assert missing == []


def test_a_key_in_two_files_is_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("hello: {en: hi}\n")
    (tmp_path / "b.yaml").write_text("hello: {en: hey}\n")
    with pytest.raises(ValueError, match="'hello' is in both"):
        Templates.load(tmp_path / "a.yaml", tmp_path / "b.yaml")


def test_shipped_templates_load():
    assert len(sorted(TEMPLATES_DIR.glob("*.yaml"))) >= 3
    assert "greeting" in default_templates()
