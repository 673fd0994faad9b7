"""Telegram sending throughput against a fake Bot API that enforces the flood limits.

Sends 3,000 messages to 300 private chats (``--quick``: 600 to 60) through the real
:class:`TelegramSender` (our token buckets, Redis idempotency claims on an embedded
valkey-server) and reports the achieved rate against Telegram's 30 messages/s, the
number of 429 answers, the longest any chat waited for its next message, and whether
every chat got its messages in order.

Baseline, in the same run, on the quick workload: python-telegram-bot's own
``AIORateLimiter`` (30/s overall, 20/min per group, retrying 429s), each chat's messages
sent one after another, all chats at once.

Run from the project root: ``python bench/telegram_send.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.telegram_bot_api import TOKEN, Delivered, FakeBotApi  # noqa: E402
from telegram import Bot  # noqa: E402
from telegram.ext import AIORateLimiter, ExtBot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.channels.telegram.sender import TelegramSender  # noqa: E402
from bot.messages import ContactRef, OutboundMessage, Purpose  # noqa: E402
from storage.redis import EmbeddedRedis, create_client  # noqa: E402

LIMIT_PER_S = 30.0
FULL = (3000, 300)
QUICK = (600, 60)


@dataclass(frozen=True)
class Figures:
    """What one run measured."""

    messages: int
    seconds: float
    http_429s: int
    max_chat_wait_s: float
    in_order: bool
    failed: int

    @property
    def rate_ratio(self) -> float:
        """Achieved messages/s over Telegram's 30/s."""
        return self.messages / self.seconds / LIMIT_PER_S


def workload(messages: int, chats: int) -> list[OutboundMessage]:
    """Round-robin over the chats; each text carries its chat and sequence number."""
    per_chat = messages // chats
    return [
        OutboundMessage(
            recipient=ContactRef("telegram", str(100_000 + chat)),
            text=f"chat {chat} message {seq}",
            purpose=Purpose.MARKETING,
            idempotency_key=f"bench:{chat}:{seq}",
        )
        for seq in range(per_chat)
        for chat in range(chats)
    ]


def measure(fake: FakeBotApi, started: float, failed: int) -> Figures:
    """Figures from what the fake received."""
    delivered = list(fake.delivered)
    by_chat: dict[str, list[Delivered]] = defaultdict(list)
    for item in delivered:
        by_chat[item.chat_id].append(item)
    waits = [
        max(later - earlier for earlier, later in itertools.pairwise(times))
        for times in ([started, *(d.at for d in items)] for items in by_chat.values())
    ]
    in_order = all(
        [int(d.text.rsplit(" ", 1)[1]) for d in items] == list(range(len(items)))
        for items in by_chat.values()
    )
    seconds = max(d.at for d in delivered) - started
    return Figures(
        len(delivered),
        seconds,
        fake.http_429s,
        max(waits),
        in_order,
        failed,
    )


async def run_ours(fake: FakeBotApi, redis_url: str, messages: list[OutboundMessage]) -> Figures:
    """Every message through our sender, queued at once."""
    redis = create_client(redis_url)
    await redis.flushdb()
    bot = Bot(
        TOKEN,
        base_url=fake.base_url,
        request=HTTPXRequest(connection_pool_size=64, pool_timeout=30.0),
    )
    await bot.initialize()
    sender = TelegramSender(bot, redis)
    started = time.monotonic()
    outcomes = await asyncio.gather(*(sender.enqueue(m) for m in messages), return_exceptions=True)
    figures = measure(fake, started, sum(isinstance(o, BaseException) for o in outcomes))
    if fake.refusals:
        print(f"429s by limit: {sorted(fake.refusals)}")
    await sender.close()
    await bot.shutdown()
    await redis.aclose()
    return figures


async def run_baseline(fake: FakeBotApi, messages: list[OutboundMessage]) -> Figures:
    """python-telegram-bot's AIORateLimiter; one task per chat sending its messages in turn."""
    bot = ExtBot(
        TOKEN,
        base_url=fake.base_url,
        request=HTTPXRequest(connection_pool_size=64, pool_timeout=30.0),
        rate_limiter=AIORateLimiter(max_retries=10),
    )
    await bot.initialize()
    per_chat: dict[str, list[OutboundMessage]] = defaultdict(list)
    for message in messages:
        per_chat[message.target_chat].append(message)

    async def send_chat(chat: list[OutboundMessage]) -> int:
        failed = 0
        for message in chat:
            try:
                await bot.send_message(message.target_chat, message.text)
            except Exception:
                failed += 1
        return failed

    started = time.monotonic()
    failures = await asyncio.gather(*(send_chat(chat) for chat in per_chat.values()))
    figures = measure(fake, started, sum(failures))
    await bot.shutdown()
    return figures


def report(name: str, figures: Figures) -> None:
    """One human-readable line."""
    print(
        f"{name}: {figures.messages} messages in {figures.seconds:.1f}s = "
        f"{figures.messages / figures.seconds:.2f}/s ({figures.rate_ratio:.1%} of 30/s), "
        f"429s={figures.http_429s}, longest chat wait {figures.max_chat_wait_s:.2f}s, "
        f"in order={figures.in_order}, failed={figures.failed}"
    )


async def main(quick: bool) -> None:
    total, chats = QUICK if quick else FULL
    with tempfile.TemporaryDirectory() as data:
        server = EmbeddedRedis(Path(data), persistent=False)
        redis_url = server.start()
        fake = FakeBotApi().start()
        try:
            ours = await run_ours(fake, redis_url, workload(total, chats))
            report(f"shopbot sender ({total} to {chats} chats)", ours)
            fake.reset()
            baseline = await run_baseline(fake, workload(*QUICK))
            report(f"baseline AIORateLimiter ({QUICK[0]} to {QUICK[1]} chats)", baseline)
        finally:
            fake.stop()
            server.stop()
    print(f"baseline_send_rate_ratio: {baseline.rate_ratio:.3f}")
    print(f"baseline_http_429s: {baseline.http_429s}")
    print(f"per_chat_order_kept: {int(ours.in_order)}")
    print(f"failed_sends: {ours.failed}")
    print(f"send_rate_ratio: {ours.rate_ratio:.3f}")
    print(f"http_429s: {ours.http_429s}")
    print(f"max_chat_wait_s: {ours.max_chat_wait_s:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 messages to 60 chats")
    asyncio.run(main(parser.parse_args().quick))
