"""The flood limiter on virtual time: Telegram's limits are never exceeded, waiters keep order."""

from __future__ import annotations

import asyncio
import itertools

from fakes.virtual_time import VirtualTimer

from bot.channels.telegram.limiter import FloodLimiter, Timer


def _limiter() -> tuple[FloodLimiter, VirtualTimer]:
    timer = VirtualTimer()
    return FloodLimiter(timer=Timer(timer.clock, timer.sleep)), timer


def _most_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def _acquire_all(limiter: FloodLimiter, timer: VirtualTimer, chats: list[str]) -> list[float]:
    times = []
    for chat in chats:
        await limiter.acquire(chat)
        times.append(timer.now)
    return times


async def test_overall_rate_stays_under_30_per_second_and_close_to_it():
    limiter, timer = _limiter()
    times = await _acquire_all(limiter, timer, [str(chat) for chat in range(1, 601)])

    assert _most_in_window(times, 1.0) <= 30
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert 0.95 * 30 <= achieved <= 30


async def test_one_chat_gets_a_short_burst_then_one_message_a_second():
    limiter, timer = _limiter()
    times = await _acquire_all(limiter, timer, ["42"] * 8)

    gaps = [round(later - earlier, 3) for earlier, later in itertools.pairwise(times)]
    assert gaps[0] < 0.1, "two messages may go out back to back"
    assert all(1.0 <= gap < 1.1 for gap in gaps[1:])


async def test_a_group_gets_at_most_20_messages_a_minute():
    limiter, timer = _limiter()
    times = await _acquire_all(limiter, timer, ["-100500"] * 45)

    assert _most_in_window(times, 60.0) <= 20
    assert times[-1] - times[0] < 44 * 3.2, "and not much slower than that"


async def test_a_429_pause_holds_every_chat_until_it_ends():
    limiter, timer = _limiter()
    await limiter.acquire("1")
    paused_at = timer.now
    limiter.pause("1", 7)

    await limiter.acquire("2")

    assert timer.now >= paused_at + 7


async def test_waiting_chats_are_served_in_the_order_they_came():
    limiter, _timer = _limiter()
    served: list[str] = []

    async def send(chat: str) -> None:
        await limiter.acquire(chat)
        served.append(chat)

    chats = [str(n) for n in range(1, 41)]
    await asyncio.gather(*(send(chat) for chat in chats))

    assert served == chats
