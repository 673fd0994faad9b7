"""The button-payload codec: every kind round-trips, and text of no kind parses as None."""

from __future__ import annotations

import pytest

from bot import payloads
from bot.payloads import (
    CampaignPayload,
    FaqPayload,
    FollowupPayload,
    HandoffPayload,
    OrderPayload,
    Payload,
    RatePayload,
)

ROUND_TRIPS: list[tuple[str, Payload]] = [
    (payloads.faq("shipping_time"), FaqPayload("shipping_time")),
    (payloads.campaign("K1", 2), CampaignPayload("K1", 2)),
    (payloads.rate(5, "T1001"), RatePayload(5, "T1001")),
    (payloads.order("cancel", "SO-88"), OrderPayload("cancel", "SO-88")),
    (payloads.HANDOFF, HandoffPayload()),
    (
        payloads.followup("repurchase", "snooze", "tea-250g"),
        FollowupPayload("repurchase", "snooze", "tea-250g"),
    ),
    (payloads.followup("revisit", "good", "8812"), FollowupPayload("revisit", "good", "8812")),
]


@pytest.mark.parametrize(("built", "parsed"), ROUND_TRIPS)
def test_every_kind_parses_back_to_what_built_it(built: str, parsed: Payload) -> None:
    assert payloads.parse(built) == parsed


def test_builders_write_the_documented_formats() -> None:
    assert payloads.faq("a") == "faq:a"
    assert payloads.campaign("K1", 3) == "campaign:K1:3"
    assert payloads.rate(4, "8812") == "rate:4:8812"
    assert payloads.order("where_is_order", "8812") == "order:where_is_order:8812"
    assert payloads.followup("repurchase", "stop", "tea") == "repurchase:stop:tea"


def test_the_rate_rules_follow_up_buttons_come_back_as_ratings() -> None:
    """``config/followups.yaml``'s ``rate`` rule has the scores as its actions."""
    assert payloads.parse(payloads.followup("rate", "3", "8812")) == RatePayload(3, "8812")


@pytest.mark.parametrize(
    ("payload", "parsed"),
    [
        ("rate:３:T1", RatePayload(3, "T1")),
        ("order:cancel:SO:1", OrderPayload("cancel", "SO:1")),
        ("faq:a:b", FaqPayload("a:b")),
        ("revisit:bad:8812:x", FollowupPayload("revisit", "bad", "8812:x")),
    ],
)
def test_the_last_field_keeps_what_follows_and_full_width_scores_count(
    payload: str, parsed: Payload
) -> None:
    assert payloads.parse(payload) == parsed


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "",
        "order_status",
        "handoff:now",
        "faq:",
        "campaign:K1",
        "campaign:K1:two",
        "campaign:K1:２",
        "rate:five:T1",
        "rate:12:T1",
        "rate:5:",
        "order:cancel:",
        "repurchase:snooze",
        "repurchase::tea",
        ":snooze:tea",
    ],
)
def test_text_of_no_kind_parses_as_none(payload: str | None) -> None:
    assert payloads.parse(payload) is None
