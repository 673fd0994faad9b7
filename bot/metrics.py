"""Prometheus metrics (``GET /metrics``), counted where the bot layer sees each event.

Counters and the latency histogram are module-level, in prometheus-client's default
registry, as the library intends: every part of the bot layer counts into them without
passing a registry around. Gauges of durable state (the follow-up queue, campaign progress)
are read from Redis when scraped (:func:`refresh_state`), so every process reports the
same shared figures. Labels are closed sets (channel names, outcomes, skip reasons with
their variable part cut off): never a contact, a text or an id.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.dispatcher import DispatchResult
from schedules.dispatch import PassReport
from storage import campaigns, keys
from storage.campaigns import Status
from storage.timestamps import Clock, to_epoch

MESSAGES_IN = Counter("shopbot_messages_in", "Inbound messages dispatched", ["channel"])
DUPLICATES_IN = Counter("shopbot_messages_duplicate", "Inbound repeats dropped", ["channel"])
REPLIES_OUT = Counter("shopbot_replies_out", "Replies and notices produced", ["channel"])
HANDLER_SECONDS = Histogram(
    "shopbot_handler_seconds",
    "Time to dispatch one inbound message (arrival to replies)",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4, 5, 10),
)
WECHAT_BUDGET_MISSED = Counter(
    "shopbot_wechat_reply_budget_missed",
    "WeChat answers not ready within the reply budget (sent through the customer-service API)",
)
TELEGRAM_RATE_LIMITED = Counter(
    "shopbot_telegram_rate_limited", "Telegram 429 replies (flood control)"
)
TELEGRAM_RETRIES = Counter("shopbot_telegram_retries", "Telegram sends tried again")
FOLLOWUPS = Counter(
    "shopbot_followups",
    "Follow-ups handled by dispatch passes: due (claimed), sent, failed (dead), uncertain, "
    "retried, postponed, stale",
    ["outcome"],
)
FOLLOWUPS_SKIPPED = Counter("shopbot_followups_skipped", "Follow-ups skipped", ["reason"])
QUEUE_DEPTH = Gauge("shopbot_followup_queue_depth", "Pending follow-ups (due now or later)")
QUEUE_IN_FLIGHT = Gauge("shopbot_followup_in_flight", "Follow-ups claimed and not yet finished")
OLDEST_DUE_AGE = Gauge(
    "shopbot_followup_oldest_due_age_seconds", "How long the oldest due follow-up has waited"
)
CAMPAIGN_AUDIENCE = Gauge(
    "shopbot_campaign_audience", "Recipients of a campaign that is sending", ["campaign"]
)
CAMPAIGN_FED = Gauge(
    "shopbot_campaign_fed", "Recipients queued so far by a campaign that is sending", ["campaign"]
)
REDIS_ERRORS = Counter("shopbot_redis_errors", "Redis errors that failed a unit of work", ["where"])
REDIS_CONNECTS = Counter(
    "shopbot_redis_connects", "Redis connections opened (the first ones, and every reconnect)"
)

_PROGRESSING = frozenset({Status.SENDING, Status.PAUSED})


def observe_pass(report: PassReport | None) -> None:
    """Count one follow-up dispatch pass (None: Redis trouble stopped it)."""
    if report is None:
        REDIS_ERRORS.labels("followup_dispatch").inc()
        return
    for outcome, count in (
        ("due", report.claimed),
        ("sent", report.sent),
        ("failed", report.dead),
        ("uncertain", report.uncertain),
        ("retried", report.retried),
        ("postponed", report.postponed.total()),
        ("stale", report.stale),
    ):
        if count:
            FOLLOWUPS.labels(outcome).inc(count)
    for reason, count in report.skipped.items():
        FOLLOWUPS_SKIPPED.labels(skip_reason(reason)).inc(count)


def skip_reason(reason: str) -> str:
    """The label of a skip reason: its kind, without names or details after a colon."""
    kind = reason.split(":", 1)[0].strip().lower()
    for variable in (" of ", " {", " '"):
        kind = kind.split(variable, 1)[0]
    return kind[:40] or "unknown"


async def refresh_state(redis: Redis, now: datetime) -> None:
    """Set the gauges read from Redis: the follow-up queue and campaign progress."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.followups_due())
        pipe.hlen(keys.followups_leased())
        pipe.zrange(keys.followups_due(), 0, 0, withscores=True)
        depth, in_flight, oldest = await pipe.execute()
    QUEUE_DEPTH.set(depth)
    QUEUE_IN_FLIGHT.set(in_flight)
    overdue = to_epoch(now) - oldest[0][1] if oldest else 0.0
    OLDEST_DUE_AGE.set(max(overdue, 0.0))
    _set_campaigns(await campaigns.all_campaigns(redis))


def _set_campaigns(all_campaigns: Iterable[campaigns.Campaign]) -> None:
    CAMPAIGN_AUDIENCE.clear()
    CAMPAIGN_FED.clear()
    for campaign in all_campaigns:
        if campaign.status in _PROGRESSING and campaign.audience is not None:
            CAMPAIGN_AUDIENCE.labels(campaign.id).set(campaign.audience)
            CAMPAIGN_FED.labels(campaign.id).set(campaign.fed)


def count_connections(redis: Redis) -> None:
    """Count every connection ``redis`` opens from now on in :data:`REDIS_CONNECTS`.

    A single-node or Sentinel client only (a cluster client keeps a pool per node).
    """
    pool = getattr(redis, "connection_pool", None)
    if pool is None:
        return
    base = pool.connection_class

    class CountingConnection(base):  # type: ignore[misc, valid-type]
        async def on_connect_check_health(self, check_health: bool = True) -> None:
            REDIS_CONNECTS.inc()  # redis-py's hook after every (re)connect
            await super().on_connect_check_health(check_health=check_health)

    pool.connection_class = CountingConnection


def count_dispatch(result: DispatchResult, channel: str, started: float) -> None:
    """Count one dispatched message (or its repeat) and what it produced; its handling
    took since ``started`` (a ``time.perf_counter()`` reading)."""
    if result.duplicate:
        DUPLICATES_IN.labels(channel).inc()
        return
    MESSAGES_IN.labels(channel).inc()
    HANDLER_SECONDS.labels(channel).observe(time.perf_counter() - started)
    for outbound in result.outbound:
        REPLIES_OUT.labels(outbound.recipient.channel).inc()


def metrics_route(redis: Redis, token: str | None, clock: Clock) -> Route:
    """``GET /metrics``: Prometheus text; with ``token``, only for ``Authorization: Bearer``."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not secrets.compare_digest(given, expected):
                return PlainTextResponse("unauthorized\n", status_code=401)
        try:
            await refresh_state(redis, clock())
        except (RedisError, OSError):  # the counters are still worth a scrape without Redis
            REDIS_ERRORS.labels("metrics").inc()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])
