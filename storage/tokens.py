"""Holder tokens: what tells one holder's claim from another's (dedupe and send claims)."""

from __future__ import annotations

import secrets


def new_token() -> str:
    """A fresh random token for one holder (one dispatch, one send attempt)."""
    return secrets.token_hex(8)
