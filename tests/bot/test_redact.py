"""The one scrubber: query strings, bot tokens, URL passwords and registered secrets."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter

from bot import redact
from bot.redact import REDACTED, scrub

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        (
            "500 Server Error for url: https://api.weixin.qq.com/cgi-bin/token"
            "?grant_type=client_credential&appid=wx1&secret=S3CR3T",
            "https://api.weixin.qq.com/cgi-bin/token",
            "S3CR3T",
        ),
        ("POST /cgi-bin/message/custom/send?access_token=AT-1 502", "/cgi-bin/", "AT-1"),
        ("/wechat?signature=abc&timestamp=1&nonce=2&openid=oXYZ", "/wechat", "oXYZ"),
        (f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage", "/sendMessage", BOT_TOKEN),
        ("POST http://127.0.0.1:80/bot4242:FAKE-TOKEN/getMe", "/getMe", "FAKE-TOKEN"),
        ("Error connecting to redis://shop:pa55word@db:6379/0", "db:6379", "pa55word"),
        ("form body: appid=wx1&secret=S3CR3T", "appid=wx1", "S3CR3T"),
    ],
)
def test_scrub_removes_secrets_and_keeps_the_rest(text, kept, gone):
    cleaned = scrub(text)
    assert kept in cleaned and gone not in cleaned


def test_ordinary_text_is_unchanged():
    text = "WeChat API error 45015: response out of time limit? yes, 2 retries"
    assert scrub(text) == text


def test_registered_secrets_are_replaced_anywhere():
    redact.register(["value-42", None, "abcdefg"])
    redact.register(["plain-secret-value-42"])
    assert scrub("the key is plain-secret-value-42.") == f"the key is {REDACTED}."
    assert scrub("abcdefg") == "abcdefg", "too short to register"


def test_the_access_log_shows_the_path_without_its_query(caplog):
    redact.install()
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    path = "/wechat?signature=abc&timestamp=1&nonce=2&openid=oSecret"
    # Exactly how uvicorn's access logger writes a request line.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", path, "1.1", 200
    )
    [record] = [r for r in caplog.records if r.name == "uvicorn.access"]
    line = AccessFormatter(fmt="%(request_line)s %(status_code)s").format(record)
    assert line.startswith("POST /wechat?") and "oSecret" not in line and "200" in line


def test_tracebacks_in_logs_are_scrubbed(caplog):
    redact.install()
    caplog.set_level(logging.DEBUG)
    try:
        raise RuntimeError("cannot reach https://x.test/token?secret=S3CR3T")
    except RuntimeError:
        logging.getLogger("shopbot.test").exception("failed")
    assert "S3CR3T" not in caplog.text and "RuntimeError" in caplog.text


def test_contact_ids_become_stable_pseudonyms():
    line = scrub("handoff of wechat:oAbC123-xyz_9 ended; telegram:4711 too (wechat:oAbC123-xyz_9)")
    assert "oAbC123" not in line and "4711" not in line
    assert line.count(redact.pseudonym("wechat:oAbC123-xyz_9")) == 2
    assert redact.pseudonym("telegram:4711") in line
    assert redact.pseudonym("wechat:a") != redact.pseudonym("wechat:b")


def test_a_log_template_keeps_its_placeholders(caplog):
    redact.install()
    caplog.set_level(logging.INFO)
    logging.getLogger("shopbot.test").info("sending to %s failed", "telegram:4711")
    assert (
        caplog.records[-1].getMessage() == f"sending to {redact.pseudonym('telegram:4711')} failed"
    )
