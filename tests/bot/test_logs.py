"""SHOPBOT_LOG_FORMAT=json (issue 17): ids and events, never texts, numbers or secrets."""

from __future__ import annotations

import json
import logging
import sys

from bot.logs import JsonFormatter


def _line(record: logging.LogRecord) -> dict[str, str]:
    return json.loads(JsonFormatter().format(record))


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("shopbot.test", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_a_line_has_time_level_logger_event_and_ids():
    line = _line(
        _record("reply not sent: %s", "我的电话 13812345678", contact="C12", ticket="T1001")
    )
    assert line["level"] == "WARNING" and line["logger"] == "shopbot.test"
    assert line["event"] == "reply not sent: %s"
    assert (line["contact"], line["ticket"]) == ("C12", "T1001")
    assert line["time"].endswith("+00:00")


def test_arguments_never_reach_the_line():
    text = JsonFormatter().format(_record("token %s for %s", "sk-secret-value", "13812345678"))
    assert "sk-secret-value" not in text and "13812345678" not in text


def test_a_phone_number_in_the_template_itself_is_masked():
    assert "13812345678" not in _line(_record("customer 13812345678 wrote"))["event"]


def test_an_exception_gives_its_type_not_its_message():
    try:
        raise ValueError("customer said: my address is ...")
    except ValueError:
        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "handler failed",
            (),
            exc_info=sys.exc_info(),
        )
    text = JsonFormatter().format(record)
    assert json.loads(text)["error"] == "ValueError" and "address" not in text
