"""Filling ``{name}`` placeholders: the one place every template text is formatted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def fill(text: str, fields: Mapping[str, Any], *, blank_missing: bool = False) -> str:
    """``text`` with its ``{placeholders}`` filled from ``fields``.

    A placeholder ``fields`` lacks raises ``KeyError``, or renders empty with
    ``blank_missing`` (follow-ups and campaigns, whose data varies per item). A malformed
    text raises ``ValueError`` or ``IndexError``.
    """
    return text.format_map(_Blank(fields) if blank_missing else fields)


class _Blank(dict[str, Any]):
    """Fields where a missing placeholder renders empty rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""
