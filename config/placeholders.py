"""Filling ``{name}`` placeholders: the one place every template text is formatted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter


def fill(text: str, fields: Mapping[str, object], *, blank_missing: bool = False) -> str:
    """``text`` with its ``{placeholders}`` filled from ``fields``.

    A placeholder ``fields`` lacks raises ``KeyError``, or renders empty with
    ``blank_missing`` (follow-ups and campaigns, whose data varies per item). A malformed
    text raises ``ValueError`` or ``IndexError``.
    """
    return text.format_map(_Blank(fields) if blank_missing else fields)


def placeholders(text: str) -> frozenset[str]:
    """The field names ``text`` formats (of ``{amount:.2f}`` or ``{order.id}``: the first part)."""
    names = (field for _, field, _, _ in Formatter().parse(text) if field)
    return frozenset(re.split(r"[.\[]", field, maxsplit=1)[0] for field in names)


class _Blank(dict[str, object]):
    """Fields where a missing placeholder renders empty rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""
