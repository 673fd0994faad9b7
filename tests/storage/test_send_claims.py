"""At-most-once sending: ``send_once`` and the claim it keeps per contact and key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from support import FIXED_NOW

from storage import keys, send_claims

pytestmark = pytest.mark.cluster

ALICE = "console:alice"
BOB = "console:bob"


class Outbox:
    """A send that records each call, and can be told to fail or to wait."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail_next = False
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    def send(self, text: str) -> Callable[[], Awaitable[None]]:
        """A send of ``text`` for ``send_once``."""

        async def run() -> None:
            self.entered.set()
            if self.gate is not None:
                await self.gate.wait()
            if self.fail_next:
                self.fail_next = False
                raise RuntimeError("platform down")
            self.sent.append(text)

        return run


async def test_the_first_send_goes_and_a_second_with_the_same_key_is_dropped(redis):
    outbox = Outbox()

    assert await send_claims.send_once(redis, ALICE, "order:1:shipped", outbox.send("one"))
    assert not await send_claims.send_once(redis, ALICE, "order:1:shipped", outbox.send("two"))

    assert outbox.sent == ["one"]
    key = keys.sent_message(ALICE, "order:1:shipped")
    assert await redis.get(key) == send_claims.SENT
    assert await redis.ttl(key) > send_claims.DEFAULT_LEASE_S


async def test_a_failing_send_releases_the_key_so_a_retry_sends(redis):
    outbox = Outbox()
    outbox.fail_next = True

    with pytest.raises(RuntimeError, match="platform down"):
        await send_claims.send_once(redis, ALICE, "k1", outbox.send("first try"))

    assert await redis.exists(keys.sent_message(ALICE, "k1")) == 0
    assert await send_claims.send_once(redis, ALICE, "k1", outbox.send("retry"))
    assert outbox.sent == ["retry"]


async def test_a_cancelled_send_releases_the_key(redis):
    outbox = Outbox()
    outbox.gate = asyncio.Event()
    task = asyncio.create_task(send_claims.send_once(redis, ALICE, "k2", outbox.send("x")))
    await outbox.entered.wait()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await redis.exists(keys.sent_message(ALICE, "k2")) == 0


async def test_a_send_in_flight_holds_the_key_so_a_second_holder_waits(redis):
    outbox = Outbox()
    outbox.gate = asyncio.Event()
    first = asyncio.create_task(
        send_claims.send_once(redis, ALICE, "k3", outbox.send("one"), clock=lambda: FIXED_NOW)
    )
    await outbox.entered.wait()

    key = keys.sent_message(ALICE, "k3")
    assert (await redis.get(key)).startswith(f"{send_claims.SENDING}|")
    with pytest.raises(send_claims.Held) as held:
        await send_claims.send_once(redis, ALICE, "k3", outbox.send("two"), clock=lambda: FIXED_NOW)
    assert held.value.until == FIXED_NOW + timedelta(seconds=send_claims.DEFAULT_LEASE_S)

    outbox.gate.set()
    assert await first
    assert outbox.sent == ["one"]


async def test_a_claim_repeated_with_its_own_token_is_still_its_own(redis):
    """What a redis-py retry of a claim that already ran does: the same token again."""
    assert await send_claims.claim(redis, ALICE, "k4", "mine", now=FIXED_NOW)
    assert await send_claims.claim(redis, ALICE, "k4", "mine", now=FIXED_NOW)
    with pytest.raises(send_claims.Held):
        await send_claims.claim(redis, ALICE, "k4", "theirs", now=FIXED_NOW)

    await send_claims.release(redis, ALICE, "k4", "theirs")  # not theirs to release
    with pytest.raises(send_claims.Held):
        await send_claims.claim(redis, ALICE, "k4", "theirs", now=FIXED_NOW)
    await send_claims.release(redis, ALICE, "k4", "mine")
    assert await send_claims.claim(redis, ALICE, "k4", "theirs", now=FIXED_NOW)


async def test_a_claim_whose_holder_died_ends_uncertain_and_is_never_sent(redis):
    outbox = Outbox()
    assert await send_claims.claim(redis, ALICE, "order:2:shipped", "dead", now=FIXED_NOW)
    later = FIXED_NOW + timedelta(seconds=send_claims.DEFAULT_LEASE_S + 1)

    for _ in range(2):
        with pytest.raises(send_claims.Uncertain):
            await send_claims.send_once(
                redis, ALICE, "order:2:shipped", outbox.send("again"), clock=lambda: later
            )

    assert outbox.sent == []
    listed = await send_claims.uncertain_between(redis, FIXED_NOW, later)
    assert listed == [send_claims.UncertainSend(ALICE, "order:2:shipped", later)]


async def test_a_send_that_may_have_arrived_ends_uncertain(redis):
    async def timed_out() -> None:
        raise send_claims.Uncertain("no answer in time")

    with pytest.raises(send_claims.Uncertain):
        await send_claims.send_once(redis, ALICE, "k5", timed_out, clock=lambda: FIXED_NOW)

    key = keys.sent_message(ALICE, "k5")
    assert await redis.get(key) == send_claims.UNCERTAIN
    with pytest.raises(send_claims.Uncertain):
        await send_claims.send_once(redis, ALICE, "k5", Outbox().send("retry"))
    [listed] = await send_claims.uncertain_between(redis, FIXED_NOW - timedelta(1), FIXED_NOW)
    assert (listed.contact_id, listed.idempotency_key) == (ALICE, "k5")


async def test_the_key_is_per_contact_and_no_key_always_sends(redis):
    outbox = Outbox()

    assert await send_claims.send_once(redis, ALICE, "tip:1", outbox.send("alice"))
    assert await send_claims.send_once(redis, BOB, "tip:1", outbox.send("bob"))
    assert await send_claims.send_once(redis, ALICE, None, outbox.send("plain"))
    assert await send_claims.send_once(redis, ALICE, None, outbox.send("plain"))

    assert outbox.sent == ["alice", "bob", "plain", "plain"]
