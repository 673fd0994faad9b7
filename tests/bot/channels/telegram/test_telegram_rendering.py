"""Outbound messages as Bot API calls: long texts split, buttons as an inline keyboard."""

from __future__ import annotations

import pytest

from bot.channels.telegram.rendering import MAX_TEXT, render, split_text
from bot.messages import Button, ContactRef, DeliveryError, OutboundMessage

ALICE = ContactRef("telegram", "42")


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_short_text_is_one_call_to_the_recipients_chat():
    [chunk] = render(OutboundMessage(ALICE, "您好"))
    assert (chunk.chat_id, chunk.text, chunk.markup) == ("42", "您好", None)


def test_long_text_is_split_at_line_ends_and_nothing_is_lost():
    lines = [f"第{n}行：" + "茶" * 50 for n in range(300)]
    text = "\n".join(lines)

    parts = split_text(text)

    assert len(parts) > 1
    assert all(_utf16(part) <= MAX_TEXT for part in parts)
    assert "\n".join(parts) == text
    assert all(part.startswith("第") for part in parts), "cut after a newline"


def test_text_without_spaces_is_cut_hard_and_emoji_count_twice():
    text = "😀" * 5000  # 10,000 UTF-16 units
    parts = split_text(text)
    assert [_utf16(p) for p in parts] == [4096, 4096, 1808]
    assert "".join(parts) == text


def test_buttons_become_an_inline_keyboard_under_the_last_part():
    message = OutboundMessage(
        ALICE, "x " * 3000, buttons=(Button("查看物流", "track:A1"), Button("人工客服", "human"))
    )
    first, last = render(message)

    assert first.markup is None
    rows = last.markup.inline_keyboard
    assert [(row[0].text, row[0].callback_data) for row in rows] == [
        ("查看物流", "track:A1"),
        ("人工客服", "human"),
    ]


def test_a_group_reply_goes_to_the_group_chat():
    [chunk] = render(OutboundMessage(ALICE, "ok", chat_id="-100200"))
    assert chunk.chat_id == "-100200"


def test_a_button_payload_over_64_bytes_is_refused():
    message = OutboundMessage(ALICE, "pick", buttons=(Button("x", "p" * 65),))
    with pytest.raises(DeliveryError, match="1-64 bytes"):
        render(message)
