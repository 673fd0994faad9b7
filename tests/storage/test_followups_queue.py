"""The follow-up queue on real Redis: schedule, claim with lease, ack, retry, cancel, list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from followup_support import T0

from bot.messages import Purpose
from storage import followups, keys, optouts
from storage.followups import Addressee, Cap, Followup, FollowupRetry, Outcome, State
from storage.optouts import OptOutCategory

pytestmark = pytest.mark.cluster


def item(item_id: str = "order:1:shipped", *, due=T0, contact: str = "console:amy", **kw):
    return Followup(item_id, contact, due, "shipped", Purpose.TRANSACTIONAL, **kw)


async def test_schedule_is_idempotent_and_replace_only_touches_pending(redis):
    assert await followups.schedule(redis, item(data={"order_id": "1"}))
    assert not await followups.schedule(redis, item(due=T0 + timedelta(hours=1)))
    assert await redis.zscore(keys.followups_due(), "order:1:shipped") == T0.timestamp()

    assert await followups.schedule(redis, item(due=T0 + timedelta(hours=1)), replace=True)
    assert await redis.zscore(keys.followups_due(), "order:1:shipped") == T0.timestamp() + 3600
    await followups.claim_due(redis, T0 + timedelta(hours=1), 10, 60)
    assert not await followups.schedule(redis, item(), replace=True), "in flight: kept"


async def test_pending_item_is_one_short_field_in_a_small_bucket_hash(redis):
    await followups.schedule(redis, item(data={"order_id": "1"}))
    bucket = keys.followup_records(followups.bucket_of("order:1:shipped"))
    fields = await redis.hgetall(bucket)
    assert fields == {"order:1:shipped": 'console:amy\x1fshipped\x1ft\x1f\x1f{"order_id":"1"}'}
    assert await redis.object("encoding", bucket) in ("ziplist", "listpack")


async def test_data_too_long_for_a_small_hash_value_is_chunked(redis):
    data = {"order_id": "1", "items": [["tea-250g", 2, "龙井茶 250 克"], ["mask-10", 1]]}
    await followups.schedule(redis, item(data=data))
    bucket = keys.followup_records(followups.bucket_of("order:1:shipped"))
    fields = await redis.hkeys(bucket)
    assert len(fields) > 2, "the head, the chunk counter and at least two chunks"
    assert all([await redis.hstrlen(bucket, field) <= 64 for field in fields])
    assert await redis.object("encoding", bucket) in ("ziplist", "listpack")
    [claimed] = await followups.claim_due(redis, T0, 10, 60)
    assert claimed.followup.data == data


async def test_replacing_chunked_data_leaves_no_stale_chunks(redis):
    old = {"order_id": "1", "items": [["tea-250g", 2, "龙井茶 250 克"], ["mask-10", 1]]}
    await followups.schedule(redis, item(data=old))
    assert await followups.schedule(redis, item(data={"order_id": "1"}), replace=True)
    bucket = keys.followup_records(followups.bucket_of("order:1:shipped"))
    fields = set(await redis.hkeys(bucket)) - {"\x1e"}  # the bucket's chunk counter
    assert fields == {"order:1:shipped"}
    [claimed] = await followups.claim_due(redis, T0, 10, 60)
    assert claimed.followup.data == {"order_id": "1"}


async def test_claim_takes_only_due_items_once_and_leases_them(redis):
    await followups.schedule_many(redis, [item("a:1"), item("a:2", due=T0 + timedelta(minutes=5))])
    first = await followups.claim_due(redis, T0, 10, lease_s=60)
    again = await followups.claim_due(redis, T0 + timedelta(seconds=30), 10, lease_s=60)

    assert [c.followup.id for c in first] == ["a:1"]
    assert first[0].followup.data == {} and first[0].followup.due_at == T0
    assert again == []
    token = await redis.hget(keys.followups_leased(), "a:1")
    assert token == first[0].token and float(token) == pytest.approx(T0.timestamp() + 60, abs=0.01)
    assert await redis.zscore(keys.followup_leases(), token) == T0.timestamp() + 60


async def test_expired_lease_is_claimed_again_with_a_new_token(redis):
    await followups.schedule(redis, item())
    [first] = await followups.claim_due(redis, T0, 10, lease_s=60)
    [second] = await followups.claim_due(redis, T0 + timedelta(seconds=61), 10, lease_s=60)

    assert second.token != first.token
    skip_first, skip_second = (Outcome(c, State.SKIPPED, "test") for c in (first, second))
    assert await followups.record_outcomes(redis, [skip_first], T0, FollowupRetry()) == ["stale"]
    assert await followups.record_outcomes(redis, [skip_second], T0, FollowupRetry()) == ["ok"]


async def test_claims_in_the_same_second_get_different_tokens(redis):
    await followups.schedule(redis, item())
    [first] = await followups.claim_due(redis, T0, 10, lease_s=60)
    await followups.record_outcomes(
        redis, [Outcome(first, postpone_to=T0, reason="test")], T0, FollowupRetry()
    )
    [second] = await followups.claim_due(redis, T0, 10, lease_s=60)

    assert second.token != first.token
    retry_first = Outcome(first, retry_error="late")
    assert await followups.record_outcomes(redis, [retry_first], T0, FollowupRetry()) == ["stale"]


async def test_a_late_ack_of_an_earlier_holder_records_the_item_as_sent(redis):
    await followups.schedule(redis, item())
    [first] = await followups.claim_due(redis, T0, 10, lease_s=60)
    [second] = await followups.claim_due(redis, T0 + timedelta(minutes=2), 10, lease_s=60)
    # The first holder's send was slower than its lease; it went out, so it is sent.
    acked = await followups.record_outcomes(
        redis, [Outcome(first, State.SENT)], T0, FollowupRetry()
    )
    late_retry = Outcome(second, retry_error="channel down")

    assert acked == ["ok"]
    assert await followups.record_outcomes(redis, [late_retry], T0, FollowupRetry()) == ["stale"]
    [record] = await followups.records(redis, ["order:1:shipped"])
    assert record.state is State.SENT
    assert await followups.claim_due(redis, T0 + timedelta(minutes=5), 10, 60) == []


async def test_a_late_ack_after_another_holders_retry_leaves_nothing_pending(redis):
    await followups.schedule(redis, item())
    [first] = await followups.claim_due(redis, T0, 10, lease_s=60)
    [second] = await followups.claim_due(redis, T0 + timedelta(minutes=2), 10, lease_s=60)
    retry = Outcome(second, retry_error="channel down")
    assert await followups.record_outcomes(redis, [retry], T0, FollowupRetry()) == ["retry"]

    await followups.record_outcomes(redis, [Outcome(first, State.SENT)], T0, FollowupRetry())

    [record] = await followups.records(redis, ["order:1:shipped"])
    assert record.state is State.SENT
    assert await followups.claim_due(redis, T0 + timedelta(hours=2), 10, 60) == []


async def test_ack_finishes_and_keeps_the_record(redis):
    await followups.schedule(redis, item())
    [claimed] = await followups.claim_due(redis, T0, 10, 60)
    await followups.record_outcomes(redis, [Outcome(claimed, State.SENT)], T0, FollowupRetry())

    [record] = await followups.of_contact(redis, "console:amy")
    assert record.state is State.SENT and record.finished_at == T0
    assert await redis.zscore(keys.followups_done(), "order:1:shipped") == T0.timestamp()
    assert await redis.hlen(keys.followups_leased()) == 0
    assert not await followups.schedule(redis, item()), "a sent id is never scheduled again"
    assert not await followups.schedule(redis, item(), replace=True), "nor replaced"
    assert not await followups.cancel(redis, "order:1:shipped", T0), "nor cancelled"


async def test_finished_records_are_swept_after_keep_and_leave_no_index(redis):
    await followups.schedule_many(redis, [item("a:1"), item("a:2", due=T0 + timedelta(days=1))])
    [claimed] = await followups.claim_due(redis, T0, 10, 60)
    await followups.record_outcomes(redis, [Outcome(claimed, State.SENT)], T0, FollowupRetry())
    await followups.cancel(redis, "a:2", T0, "moved on")

    await followups.claim_due(redis, T0 + timedelta(seconds=3599), 10, 60, keep_s=3600)
    assert len(await followups.of_contact(redis, "console:amy")) == 2, "kept for an hour"
    assert await followups.claim_due(redis, T0 + timedelta(seconds=3600), 10, 60, keep_s=3600) == []
    assert await followups.of_contact(redis, "console:amy") == []
    assert await redis.keys(f"{keys.scope()}:fu:*") == [keys.followup_claims()]


async def test_retry_backs_off_then_dead_letters_with_the_last_error(redis):
    await followups.schedule(redis, item())
    policy = FollowupRetry(max_attempts=3, base_s=10, cap_s=15)
    now, delays = T0, []
    for error in ("timeout", "502", "503"):
        [claimed] = await followups.claim_due(redis, now, 10, 60)
        [answer] = await followups.record_outcomes(
            redis, [Outcome(claimed, retry_error=error)], now, policy
        )
        due = await redis.zscore(keys.followups_due(), "order:1:shipped")
        delays.append((answer, due and due - now.timestamp()))
        now += timedelta(seconds=20)

    assert delays == [("retry", 10), ("retry", 15), ("dead", None)]
    [dead] = await followups.dead_letters(redis)
    assert (dead.state, dead.reason, dead.attempts) == (State.DEAD, "503", 3)


async def _dead_letter(redis, item_id: str, now) -> None:
    await followups.schedule(redis, item(item_id, due=now))
    [claimed] = await followups.claim_due(redis, now, 10, 60)
    policy = FollowupRetry(max_attempts=1)
    assert await followups.record_outcomes(redis, [Outcome(claimed, retry_error="x")], now, policy)


async def test_dead_letters_are_swept_after_keep_like_finished_items(redis):
    """Issue 13: a dead letter is kept SHOPBOT_FOLLOWUP_KEEP_DAYS after it died, no longer."""
    await _dead_letter(redis, "a:1", T0)
    await _dead_letter(redis, "a:2", T0 + timedelta(seconds=600))

    await followups.claim_due(redis, T0 + timedelta(seconds=3599), 10, 60, keep_s=3600)
    assert [d.followup.id for d in await followups.dead_letters(redis)] == ["a:2", "a:1"]
    await followups.claim_due(redis, T0 + timedelta(seconds=3600), 10, 60, keep_s=3600)
    assert [d.followup.id for d in await followups.dead_letters(redis)] == ["a:2"]
    assert [r.followup.id for r in await followups.of_contact(redis, "console:amy")] == ["a:2"]

    await followups.claim_due(redis, T0 + timedelta(seconds=4200), 10, 60, keep_s=3600)
    assert await followups.dead_letters(redis) == []
    assert await followups.of_contact(redis, "console:amy") == []
    assert await redis.keys(f"{keys.scope()}:fu:*") == [keys.followup_claims()]
    assert await followups.schedule(redis, item("a:1")), "a swept id may be scheduled again"


async def test_a_dead_letter_whose_record_is_gone_is_dropped_from_the_list(redis):
    await redis.lpush(keys.followups_dead(), "a:gone")
    await _dead_letter(redis, "a:1", T0)

    await followups.claim_due(redis, T0 + timedelta(seconds=60), 10, 60, keep_s=3600)
    assert await redis.lrange(keys.followups_dead(), 0, -1) == ["a:1"]


async def test_cancel_group_spares_other_groups_and_kept_ids(redis):
    await followups.schedule_many(
        redis,
        [item("order:1:paid"), item("order:1:shipped"), item("order:12:paid"), item("x:1")],
    )
    cancelled = await followups.cancel_group(
        redis, "console:amy", "order:1", T0, "moved on", keep=["order:1:shipped"]
    )

    assert cancelled == ["order:1:paid"]
    states = {r.followup.id: r.state for r in await followups.of_contact(redis, "console:amy")}
    assert states == {
        "order:1:paid": State.CANCELLED,
        "order:1:shipped": State.PENDING,
        "order:12:paid": State.PENDING,
        "x:1": State.PENDING,
    }
    assert await redis.zscore(keys.followups_due(), "order:1:paid") is None


async def test_an_item_in_flight_is_not_cancelled_its_outcome_is_recorded(redis):
    await followups.schedule(redis, item())
    [claimed] = await followups.claim_due(redis, T0, 10, 60)

    assert not await followups.cancel(redis, "order:1:shipped", T0, "order refunded")
    sent = Outcome(claimed, State.SENT)
    assert await followups.record_outcomes(redis, [sent], T0, FollowupRetry()) == ["ok"]
    [record] = await followups.records(redis, ["order:1:shipped"])
    assert record.state is State.SENT


async def test_pending_lists_in_flight_then_due_before(redis):
    await followups.schedule_many(
        redis,
        [
            item("a:1"),
            item("a:2", due=T0 + timedelta(hours=1)),
            item("a:3", due=T0 + timedelta(days=1)),
        ],
    )
    await followups.claim_due(redis, T0, 1, 60)
    records = await followups.pending(redis, due_before=T0 + timedelta(hours=2))
    assert [(r.followup.id, r.state) for r in records] == [
        ("a:1", State.IN_FLIGHT),
        ("a:2", State.PENDING),
    ]


async def test_claim_brings_the_contacts_profile_and_marketing_opt_outs(redis):
    await redis.hset(
        keys.contact("console:amy"),
        mapping={"language": "en", "display_name": "Amy\x1fA.", "unreachable": "blocked"},
    )
    await optouts.opt_out(redis, "console:amy", T0, [OptOutCategory.REPURCHASE])
    await followups.schedule_many(
        redis,
        [
            item("a:1"),
            Followup("a:2", "console:amy", T0 + timedelta(seconds=1), "winback", Purpose.MARKETING),
            item("b:1", due=T0 + timedelta(seconds=2), contact="console:nobody"),
        ],
    )

    claimed = await followups.claim_due(redis, T0 + timedelta(minutes=1), 10, 60)

    assert [c.addressee for c in claimed] == [
        Addressee("en", "Amy A.", "blocked", frozenset()),  # transactional: opt-outs not read
        Addressee("en", "Amy A.", "blocked", frozenset({OptOutCategory.REPURCHASE})),
        Addressee(),
    ]


def marketing(item_id: str, contact: str = "console:amy") -> Followup:
    return Followup(item_id, contact, T0, "winback", Purpose.MARKETING)


async def test_claim_takes_a_weekly_cap_slot_per_marketing_item_until_full(redis):
    await followups.schedule_many(redis, [marketing("w:1"), marketing("w:2"), marketing("w:3")])
    await followups.schedule(redis, item("t:1"))

    claimed = await followups.claim_due(redis, T0, 10, 60, Cap(limit=2))

    frees = {c.id: c.cap_frees_at for c in claimed}
    assert frees == {"w:1": None, "w:2": None, "w:3": T0 + timedelta(days=7), "t:1": None}
    cap_set = keys.marketing_sent("console:amy")
    assert await redis.zrange(cap_set, 0, -1) == ["w:1", "w:2"]
    assert 0 < await redis.ttl(cap_set) <= 7 * 86_400


async def test_a_marketing_item_not_sent_gives_back_its_cap_slot(redis):
    await followups.schedule_many(redis, [marketing("w:1"), marketing("w:2")])
    one, two = await followups.claim_due(redis, T0, 10, 60, Cap(limit=2))
    outcomes = [Outcome(one, State.SENT), Outcome(two, State.SKIPPED, "opted out")]

    await followups.record_outcomes(redis, outcomes, T0, FollowupRetry())

    assert await redis.zrange(keys.marketing_sent("console:amy"), 0, -1) == ["w:1"]


async def test_claiming_again_after_a_crash_keeps_one_cap_slot(redis):
    await followups.schedule_many(redis, [marketing("w:1"), marketing("w:2")])
    await followups.claim_due(redis, T0, 1, 60, Cap(limit=2))  # ... and the holder dies.
    again = await followups.claim_due(redis, T0 + timedelta(minutes=2), 10, 60, Cap(limit=2))

    assert [(c.id, c.cap_frees_at) for c in again] == [("w:1", None), ("w:2", None)]
    assert await redis.zcard(keys.marketing_sent("console:amy")) == 2


async def test_large_batches_span_several_script_arguments(redis):
    long = {"note": "备注" * 30}
    batch = [item(f"big:{n}", data=long) for n in range(300)]

    assert all(await followups.schedule_many(redis, batch))
    claimed = await followups.claim_due(redis, T0, 300, 60)
    answers = await followups.record_outcomes(
        redis, [Outcome(c, State.SENT) for c in claimed], T0, FollowupRetry()
    )

    assert len(claimed) == 300 and {c.followup.data["note"] for c in claimed} == {long["note"]}
    assert answers == ["ok"] * 300


async def test_schedule_many_in_slices_keeps_the_order_of_its_answers(redis, monkeypatch):
    monkeypatch.setattr(followups, "SCHEDULE_SLICE", 3)
    batch = [item(f"s:{n}") for n in range(8)] + [item("s:1"), item("s:7"), item("s:8")]

    flags = await followups.schedule_many(redis, iter(batch))

    assert flags == [True] * 8 + [False, False, True]
    assert await redis.zcard(keys.followups_due()) == 9


async def test_items_of_an_expired_lease_are_claimed_again_a_batch_at_a_time(redis):
    await followups.schedule_many(redis, [item(f"x:{n}") for n in range(3)])
    [token] = {c.token for c in await followups.claim_due(redis, T0, 10, 60)}  # ... holder dies

    later = T0 + timedelta(seconds=60)
    first = await followups.claim_due(redis, later, 2, 60)
    second = await followups.claim_due(redis, later, 2, 60)

    assert sorted(c.id for c in first + second) == ["x:0", "x:1", "x:2"]
    assert len(first) == 2 and len(second) == 1
    assert await redis.zscore(keys.followup_leases(), token) is None, "forgotten once empty"
