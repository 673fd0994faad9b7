"""The follow-up codec: each named row round-trips, and matches what the Lua scripts return."""

from __future__ import annotations

from datetime import timedelta

import pytest
from followup_support import T0

from bot.messages import Purpose
from storage import followup_codec as codec
from storage import followups, keys
from storage.followup_codec import ClaimRow, HeadRow, RecordRow, State, StateRow
from storage.optouts import OptOutCategory

pytestmark = pytest.mark.cluster


def item(item_id: str = "order:1:shipped", **kw) -> followups.Followup:
    return followups.Followup(item_id, "tg:42", T0, "shipped", Purpose.MARKETING, **kw)


CLAIM_ROW = ClaimRow(
    id="order:1:shipped",
    due=str(T0.timestamp()),
    bucket="17",
    frees=str((T0 + timedelta(days=2)).timestamp()),
    language="zh",
    name="Amy",
    unreachable="",
    blocked="marketing,gone-category",
    data="",
    contact="tg:42",
    template="shipped",
    purpose="m",
    optout="repurchase",
    inline='{"order_id":"1"}',
)


def test_claim_row_round_trips_through_its_joined_form():
    assert ClaimRow.parse(codec.join(CLAIM_ROW)) == CLAIM_ROW


def test_claimed_reads_every_field_of_the_claim_row():
    claimed = codec.claimed("99.000001", codec.join(CLAIM_ROW))

    assert (claimed.id, claimed.contact_id, claimed.template) == (
        "order:1:shipped",
        "tg:42",
        "shipped",
    )
    assert (claimed.purpose, claimed.optout, claimed.data) == (
        "marketing",
        "repurchase",
        {"order_id": "1"},
    )
    assert (claimed.token, claimed.due, claimed.bucket) == ("99.000001", CLAIM_ROW.due, "17")
    assert claimed.cap_frees_at == T0 + timedelta(days=2)
    assert claimed.addressee == codec.Addressee(
        "zh", "Amy", None, frozenset({OptOutCategory.MARKETING})
    )
    assert claimed.followup == item(data={"order_id": "1"}, optout="repurchase")


def test_a_claim_row_of_the_wrong_width_is_refused():
    with pytest.raises(TypeError):
        ClaimRow.parse(codec.join(CLAIM_ROW[:-1]))


@pytest.mark.parametrize(
    "followup",
    [item(), item(data={"order_id": "1"}), item(data={"note": "长" * 60}, optout="repurchase")],
    ids=["no-data", "inline", "chunked"],
)
def test_head_round_trips_a_followup(followup):
    head, data = codec.pack(followup)

    assert codec.followup(followup.id, HeadRow.parse(head), data, T0.timestamp()) == followup
    assert len(head.encode()) <= 64, "a head stays within a small hash's value limit"


def test_state_row_round_trips_and_reads_absent_as_a_fresh_item():
    state = StateRow("2", "skipped", "1700000000", "1690000000", "opted out")

    assert StateRow.parse(codec.join(state)) == state
    assert StateRow.parse("") == StateRow("0", "", "", "", "")


def test_record_reads_the_state_the_lease_or_the_finish_time():
    head, _ = codec.pack(item())
    due = str(T0.timestamp())
    done = str((T0 + timedelta(hours=1)).timestamp())
    skipped = codec.join(StateRow("1", "skipped", done, due, "opted out"))

    pending = codec.record(RecordRow("order:1:shipped", head, "", "", due, "", ""))
    in_flight = codec.record(RecordRow("order:1:shipped", head, "", "", "", done, ""))
    sent = codec.record(RecordRow("order:1:shipped", head, "", "", "", "", done))
    finished = codec.record(RecordRow("order:1:shipped", head, "", skipped, "", "", done))

    assert (pending.state, pending.followup) == (State.PENDING, item())
    assert (in_flight.state, in_flight.followup.due_at) == (
        State.IN_FLIGHT,
        T0 + timedelta(hours=1),
    )
    assert (sent.state, sent.finished_at) == (State.SENT, T0 + timedelta(hours=1))
    assert (finished.state, finished.reason, finished.attempts) == (State.SKIPPED, "opted out", 1)
    assert finished.followup.due_at == T0


def test_batch_keeps_every_row_in_order_and_clean_drops_separators():
    rows = [f"row-{n}-" + "x" * 900 for n in range(30)]

    arguments = codec.batch(rows)

    assert len(arguments) > 1
    assert [row for argument in arguments for row in argument.split(codec.FS)] == rows
    assert codec.clean(f"a{codec.US}b{codec.GS}c{codec.FS}d{codec.RS}e") == "a b c d e"


async def test_the_claim_script_answers_in_the_claim_row_layout(redis):
    await followups.schedule(redis, item(data={"order_id": "1"}, optout="repurchase"))
    await redis.hset(keys.contact("tg:42"), mapping={"language": "zh"})

    claimed = await followups.claim_due(redis, T0, 10, 60)

    assert len(claimed) == 1
    row = claimed[0]
    assert row.followup == item(data={"order_id": "1"}, optout="repurchase")
    assert row.addressee.language == "zh"
    assert row.bucket == str(followups.bucket_of(row.id))


async def test_the_rows_script_answers_in_the_record_row_layout(redis):
    await followups.schedule(redis, item(data={"note": "长" * 60}))

    (record,) = await followups.records(redis, ["order:1:shipped"])  # RecordRow: 7 fields

    assert (record.state, record.followup) == (State.PENDING, item(data={"note": "长" * 60}))
