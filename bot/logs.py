"""Log output: plain lines, or one JSON object per line (``SHOPBOT_LOG_FORMAT=json``).

A JSON line holds the time, level, logger, the *event* and the ids a call passed with
``extra`` (:data:`ID_FIELDS`), plus the exception's type. The event is the call's message
template (``"reply to %s not sent: %s"``), never the formatted message: arguments may carry
a customer's words, a phone number or a secret, so none of them is written, and runs of
digits long enough to be a phone number are masked even in a template.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime

import orjson

ID_FIELDS = ("contact", "ticket", "followup", "campaign", "order", "channel")
"""``extra`` fields copied into a JSON line (short ids, never names or texts)."""
_LONG_DIGITS = re.compile(r"\d{7,}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, event, ids, error type."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": _LONG_DIGITS.sub("<digits>", str(record.msg)),
        }
        for name in ID_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = str(value)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        return orjson.dumps(line).decode()


def configure_logging(level: str | int, log_format: str) -> None:
    """Send logs to stderr as plain lines (``text``) or JSON lines (``json``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler])
    if logging.getLevelName(level) != "DEBUG" and level != logging.DEBUG:
        # A line per job run (every second) hides what matters; errors still come through.
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
