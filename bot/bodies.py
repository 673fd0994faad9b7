"""Request bodies with a size limit, enforced while the body streams in.

A declared ``Content-Length`` over the limit is refused before anything is read;
a body without one (chunked) is refused as soon as it passes the limit, so no
request makes the bot buffer more than ``limit`` bytes. JSON bodies are parsed
strictly (:func:`parse_json`): no ``NaN``, no ``Infinity``, no number too big to use.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

MAX_JSON_BODY_BYTES = 1024 * 1024
"""The limit on ``POST /telegram`` and ``POST /api/orders`` (1 MiB)."""


class BodyTooLarge(Exception):
    """The request body is larger than allowed (answer 413)."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or :class:`BodyTooLarge` once it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge()
    return bytes(body)


MAX_JSON_NUMBER = 2**53
"""Numbers beyond this (either sign) do not fit our amounts and counts (JSON's safe integers)."""


class BadJson(ValueError):
    """The body is no JSON we accept; the text says why in general terms."""


class _BadNumber(ValueError):
    pass


def parse_json(body: bytes) -> Any:
    """Strict JSON: :class:`BadJson` for bad JSON, ``NaN``/``Infinity``, numbers that do not fit."""
    try:
        return json.loads(
            body, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except _BadNumber as exc:
        raise BadJson(str(exc)) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadJson("not valid JSON") from None


def _no_constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_JSON_NUMBER:
        raise _BadNumber("number out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > len(str(MAX_JSON_NUMBER)) or abs(int(text)) > MAX_JSON_NUMBER:
        raise _BadNumber("number out of range")
    return int(text)
