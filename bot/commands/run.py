"""``python -m bot run``: the service (web app, channels, scheduler)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial

import uvicorn

from bot import metrics
from bot.app import open_runtime
from bot.channels.base import Channel, ChannelStartError
from bot.commands import Subparsers
from bot.handoff_job import schedule_handoff_expiry
from bot.heap import freeze_startup_heap
from bot.recovery_jobs import schedule_recovery
from bot.shutdown import stop_in_order, stop_taking_work
from bot.web import build_web_app
from config.catalog import default_catalog
from config.membership import membership_from
from config.settings import Settings, mask_url_password
from schedules.campaign_jobs import load_and_schedule
from schedules.campaigns import CampaignRunner
from schedules.dispatch import FollowupDispatcher
from schedules.membership import schedule_tier_reviews
from schedules.scheduler import add_followups_dispatch, build_scheduler

EXIT_CHANNEL_FAILED = 2


def register(subparsers: Subparsers) -> None:
    """Add the ``run`` command."""
    parser = subparsers.add_parser("run", help="run the bot service (HTTP, channels, scheduler)")
    parser.set_defaults(func=lambda args, settings: asyncio.run(serve(settings)))


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then stop in order (``bot.shutdown``); Redis closes last."""
    async with open_runtime(settings) as runtime:
        await runtime.pipeline.warm_up()  # before channels: WeChat allows 5 s per answer
        try:
            await _start_channels(runtime.channels.values())
        except ChannelStartError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_CHANNEL_FAILED
        scheduler = build_scheduler(settings.tz)
        schedule_handoff_expiry(scheduler, runtime)
        schedule_recovery(scheduler, runtime)
        dispatcher = FollowupDispatcher.from_settings(runtime.redis, runtime.delivery, settings)
        add_followups_dispatch(
            scheduler, dispatcher, settings.followup_tick_s, on_pass=metrics.observe_pass
        )
        campaign_runner = CampaignRunner.from_settings(runtime.redis, settings, runtime.delivery)
        await load_and_schedule(scheduler, campaign_runner, settings)
        schedule_tier_reviews(
            scheduler, runtime.redis, membership_from(settings.membership_file), default_catalog()
        )
        freeze_startup_heap()
        scheduler.start()
        server = _Server(
            uvicorn.Config(
                build_web_app(runtime),
                host=settings.http_host,
                port=settings.http_port,
                lifespan="off",
                log_level=settings.log_level.lower(),
                # JSON lines: uvicorn's loggers go through ours (its own config prints text).
                log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
                timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_s)),
            ),
            on_signal=partial(stop_taking_work, runtime.gate, scheduler, dispatcher),
        )
        code = await runtime.dispatcher.roles.offer_claim_code()
        if code:
            print(claim_banner(code), file=sys.stderr, flush=True)
        print(banner(settings), file=sys.stderr, flush=True)
        try:
            await server.serve()
        finally:
            await stop_in_order(
                runtime.gate,
                runtime.channels.values(),
                scheduler,
                dispatcher,
                server.grace_left(settings.shutdown_grace_s),
            )
    return 0


class _Server(uvicorn.Server):
    """Uvicorn that stops on SIGINT/SIGTERM without re-raising the signal afterwards.

    Uvicorn re-raises a captured signal once it has shut down, which would
    interrupt our own cleanup (channels, scheduler, the embedded Redis). The signal
    also calls ``on_signal`` at once: requests still arriving are refused with 503 and
    no new work is claimed while uvicorn finishes the requests in progress.
    """

    def __init__(self, config: uvicorn.Config, *, on_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_signal = on_signal
        self.signalled_at: float | None = None

    def grace_left(self, grace_s: float) -> float:
        """What is left of ``grace_s`` since the signal (uvicorn's own wait counts too)."""
        if self.signalled_at is None:
            return grace_s
        return max(0.0, grace_s - (time.monotonic() - self.signalled_at))

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._request_exit)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _request_exit(self) -> None:
        if self.signalled_at is None:
            self.signalled_at = time.monotonic()
        self.on_signal()
        self.should_exit = True


async def _start_channels(channels: Iterable[Channel]) -> None:
    """Start every channel; if one cannot start, stop those already started and re-raise."""
    started: list[Channel] = []
    try:
        for channel in channels:
            await channel.start()
            started.append(channel)
    except ChannelStartError:
        for channel in reversed(started):
            await channel.stop()
        raise


def banner(settings: Settings) -> str:
    """How to reach the running bot."""
    redis = mask_url_password(settings.redis_url or "") or f"embedded, data in {settings.data_dir}"
    return (
        f"Shopbot is running: http://{settings.http_host}:{settings.http_port}/healthz "
        f"(Redis: {redis}).\n"
        "Chat with it in another terminal:\n"
        "  .venv/bin/python -m bot chat            # as a customer (--as NAME for another)\n"
        "  .venv/bin/python -m bot chat --owner    # as the shop owner\n"
        "Press Ctrl-C to stop."
    )


def claim_banner(code: str) -> str:
    """How to become the owner of a shop that has none."""
    return (
        "No owner is configured (SHOPBOT_OWNERS). To become the owner, send this from your "
        f"Telegram or WeChat chat with the bot (it works once, within the hour):\n  /claim {code}"
    )
