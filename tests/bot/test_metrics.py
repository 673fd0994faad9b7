"""GET /metrics (issue 17): Prometheus text from prometheus-client, optional bearer token."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import timedelta

import httpx
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from support import FIXED_NOW, MovableClock

from bot import metrics
from bot.messages import ContactRef, Purpose
from schedules.dispatch import PassReport
from storage import campaigns, followups
from storage.campaigns import Campaign, Status
from storage.followups import Followup
from storage.redis import create_client


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _scrape(redis, token: str | None = None, header: str | None = None) -> httpx.Response:
    app = Starlette(routes=[metrics.metrics_route(redis, token, MovableClock())])
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        return await client.get("/metrics", headers=headers)


async def test_a_dispatched_message_counts_in_out_and_its_latency(shop_day):
    before_in = _value("shopbot_messages_in_total", channel="telegram")
    before_out = _value("shopbot_replies_out_total", channel="telegram")
    before_timed = _value("shopbot_handler_seconds_count", channel="telegram")
    replies = await shop_day.say(ContactRef("telegram", "77"), "hello")
    assert replies
    assert _value("shopbot_messages_in_total", channel="telegram") == before_in + 1
    assert _value("shopbot_replies_out_total", channel="telegram") >= before_out + len(replies)
    assert _value("shopbot_handler_seconds_count", channel="telegram") == before_timed + 1


async def test_the_scrape_reads_the_queue_depth_and_the_oldest_due_age(redis):
    for n, minutes in enumerate((30, 5, -10)):
        due = FIXED_NOW - timedelta(minutes=minutes)
        item = Followup(f"t:{n}", "telegram:1", due, "hello", Purpose.TRANSACTIONAL)
        await followups.schedule(redis, item)
    response = await _scrape(redis)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "shopbot_followup_queue_depth 3.0" in response.text
    assert "shopbot_followup_oldest_due_age_seconds 1800.0" in response.text


async def test_a_token_guards_the_metrics(redis):
    assert (await _scrape(redis, token="s3cret")).status_code == 401
    assert (await _scrape(redis, token="s3cret", header="Bearer wrong")).status_code == 401
    allowed = await _scrape(redis, token="s3cret", header="Bearer s3cret")
    assert allowed.status_code == 200 and "shopbot_messages_in_total" in allowed.text


def test_a_pass_counts_outcomes_and_skip_reasons_without_their_details():
    report = PassReport(claimed=4, sent=2, dead=1, uncertain=1)
    report.skipped = Tally({"unreachable: blocked the bot": 1, "opted out of marketing": 2})
    due_before = _value("shopbot_followups_total", outcome="due")
    uncertain_before = _value("shopbot_followups_total", outcome="uncertain")
    skipped_before = _value("shopbot_followups_skipped_total", reason="unreachable")
    opted_before = _value("shopbot_followups_skipped_total", reason="opted out")
    metrics.observe_pass(report)
    assert _value("shopbot_followups_total", outcome="due") == due_before + 4
    assert _value("shopbot_followups_total", outcome="uncertain") == uncertain_before + 1
    assert _value("shopbot_followups_skipped_total", reason="unreachable") == skipped_before + 1
    assert _value("shopbot_followups_skipped_total", reason="opted out") == opted_before + 2


def test_a_pass_stopped_by_redis_counts_a_redis_error():
    before = _value("shopbot_redis_errors_total", where="followup_dispatch")
    metrics.observe_pass(None)
    assert _value("shopbot_redis_errors_total", where="followup_dispatch") == before + 1


async def test_the_scrape_shows_the_progress_of_a_sending_campaign_only(redis):
    sending = Campaign(
        "K7", "sale", "orders>=1", "now", {"en": "Hi"}, status=Status.SENDING, audience=10, fed=4
    )
    await campaigns.save(redis, sending)
    await campaigns.save(redis, Campaign("K8", "draft", "orders>=1", "now", {"en": "Hi"}))
    text = (await _scrape(redis)).text
    assert 'shopbot_campaign_audience{campaign="K7"} 10.0' in text
    assert 'shopbot_campaign_fed{campaign="K7"} 4.0' in text
    assert 'campaign="K8"' not in text


async def test_every_connection_the_client_opens_is_counted(redis_url):
    client = create_client(redis_url)
    metrics.count_connections(client)
    before = _value("shopbot_redis_connects_total")
    try:
        await client.ping()
    finally:
        await client.aclose()
    assert _value("shopbot_redis_connects_total") == before + 1
