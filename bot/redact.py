"""Secrets out of text: one scrubber for log lines, error texts and stored reasons.

URLs leak secrets in three places: query strings (WeChat's ``access_token`` and
``secret``, a callback's ``signature`` and ``openid``), the Telegram bot token in
the path (``/bot<TOKEN>/sendMessage``), and passwords in Redis URLs. :func:`scrub`
removes all three, and any setting value registered with :func:`register`.
A contact id (``wechat:<openid>``, ``telegram:<user id>``) becomes a pseudonym
(:func:`pseudonym`): the same contact reads the same in every log line, and no
openid or user id is written.

:func:`install` makes every log record go through :func:`scrub` (its message,
arguments and traceback), whichever library logs it: httpx logs the request URL
at INFO, urllib3 at DEBUG, uvicorn's access log the path with its query.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable

from config.settings import mask_url_password

REDACTED = "[redacted]"
_MIN_SECRET_LEN = 8
"""Shorter registered values are not replaced: they would mangle ordinary words."""

_PATTERNS = (
    # A query string: everything from "?" that looks like key=value pairs.
    (re.compile(r"\?[\w.~%-]+=[^\s'\"<>]*"), "?" + REDACTED),
    # key=value of a secret-bearing parameter outside a query string (a form body, a repr).
    (
        re.compile(
            r"\b(access_token|secret|appsecret|signature|msg_signature|openid|password|token)"
            r"=[^\s&'\"<>]+",
            re.IGNORECASE,
        ),
        r"\1=" + REDACTED,
    ),
    # A Telegram bot token in a Bot API path (/bot<TOKEN>/method), or anywhere else.
    (re.compile(r"/bot\d+:[^/\s'\"]+"), "/bot" + REDACTED),
    (re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}"), REDACTED),
)

_CONTACT_ID = re.compile(r"\b(wechat|telegram):([^\s,;:'\"()\[\]<>~%]+)")
"""A contact id as ``ContactRef.id`` writes it (the terminal's names are the owner's own);
never a log call's ``%s`` placeholder."""

_secrets: list[str] = []
"""Longest first, so that a secret inside a longer one does not leave the rest readable."""
_lock = threading.Lock()
_installed = False


def register(values: Iterable[str | None]) -> None:
    """Also replace these exact values (the configured secrets) wherever they appear."""
    global _secrets
    with _lock:
        fresh = {v for v in values if v and len(v) >= _MIN_SECRET_LEN}
        _secrets = sorted(fresh.union(_secrets), key=len, reverse=True)


def pseudonym(contact_id: str) -> str:
    """``wechat:~3fa9c1d2``: a contact id that a log may carry, stable across processes."""
    channel, _, external_id = contact_id.partition(":")
    digest = hashlib.blake2s(external_id.encode(), digest_size=4).hexdigest()
    return f"{channel}:~{digest}"


def scrub(text: str) -> str:
    """``text`` without query strings, bot tokens, URL passwords, registered secrets or
    contact ids (each replaced by its :func:`pseudonym`)."""
    text = mask_url_password(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = _CONTACT_ID.sub(lambda match: pseudonym(match.group(0)), text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def scrub_error(exc: BaseException) -> str:
    """An exception's text, scrubbed: what may cross the channel boundary."""
    return scrub(str(exc))


def install(secrets: Iterable[str | None] = ()) -> None:
    """Scrub every log record from now on (idempotent), and :func:`register` ``secrets``."""
    global _installed
    register(secrets)
    with _lock:
        if _installed:
            return
        make_record = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            _scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def _scrub_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, str):
        record.msg = scrub(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_scrub_arg(arg) for arg in record.args)
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))


def _scrub_arg(arg: object) -> object:
    """A string argument scrubbed; another object replaced by its scrubbed text if it leaks."""
    if isinstance(arg, (int, float, bool)) or arg is None:
        return arg
    text = arg if isinstance(arg, str) else str(arg)
    cleaned = scrub(text)
    return cleaned if cleaned != text or isinstance(arg, str) else arg
