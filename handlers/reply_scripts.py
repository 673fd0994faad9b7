"""Owners' reply scripts: ``/reply T1001 #色差`` inserts the 色差 script for the customer.

A script is the template ``complaint_script.<name>`` (``config/templates/complaints.yaml``,
editable), written in the course's four steps: find the cause, listen, soothe and
explain, follow up. ``#name`` names it by the category's name (``#colour``) or its
label in either language (``#色差``, ``#colour_difference``: spaces become ``_``);
``#投诉`` / ``#complaint`` is the general script. The script is rendered in the
ticket's language, so the customer reads it in their own.
"""

from __future__ import annotations

import re
from functools import cache

from config.i18n import Templates

SCRIPT_PREFIX = "complaint_script."
GENERAL = "general"
_HASHTAG = re.compile(r"#(\S+)")


class UnknownScript(LookupError):
    """The reply starts with ``#tag`` and no script has that name."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


def _tag(text: str) -> str:
    return text.strip().lower().replace(" ", "_")


@cache
def script_tags(templates: Templates) -> dict[str, str]:
    """Every accepted ``#tag`` (lower case) -> the script's template key."""
    tags: dict[str, str] = {}
    for key in templates:
        if not key.startswith(SCRIPT_PREFIX):
            continue
        name = key.removeprefix(SCRIPT_PREFIX)
        category = None if name == GENERAL else name
        label_key = f"complaint_category.{category}" if category else "complaint_general"
        labels = [tag_for(templates, category, lang) for lang in templates.languages_of(label_key)]
        for tag in (name, *labels):
            tags[_tag(tag)] = key
    return tags


def tag_for(templates: Templates, category: str | None, language: str) -> str:
    """The tag owners type for a category's script (``色差``; None: the general script)."""
    label_key = f"complaint_category.{category}" if category else "complaint_general"
    return _tag(templates.text(label_key, language))


def script_labels(templates: Templates, language: str) -> str:
    """The tags to offer owners, one per script, in ``language``: ``#色差 #尺码不对 ...``."""
    names = sorted({key.removeprefix(SCRIPT_PREFIX) for key in script_tags(templates).values()})
    tags = (tag_for(templates, None if n == GENERAL else n, language) for n in names)
    return " ".join(f"#{tag}" for tag in tags)


def expand(text: str, templates: Templates, language: str) -> str:
    """``text`` with every known ``#tag`` replaced by its script in ``language``.

    Raises :class:`UnknownScript` when the text starts with an unknown ``#tag`` (a
    mistyped script name must not reach the customer); a ``#`` later in the text that
    names no script stays as written.
    """
    tags = script_tags(templates)
    leading = _HASHTAG.match(text.strip())
    if leading and _tag(leading.group(1)) not in tags:
        raise UnknownScript(leading.group(1))

    def replace(match: re.Match[str]) -> str:
        key = tags.get(_tag(match.group(1)))
        return templates.text(key, language) if key else match.group(0)

    return _HASHTAG.sub(replace, text).strip()
