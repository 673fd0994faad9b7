"""``python -m bot followups list|run-due`` end to end, in subprocesses on the test Redis."""

from __future__ import annotations

import subprocess
from datetime import timedelta

from followup_support import T0, make_contact
from support import PROJECT_ROOT, PYTHON, bot_env

from config.catalog import default_catalog
from config.followup_rules import rules_from
from schedules.lifecycle import OrderFacts, on_order_status
from storage import mailbox
from storage.orders import OrderItem


def followups_cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "bot", "followups", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
        env=bot_env(SHOPBOT_REDIS_URL=redis_url, SHOPBOT_LOG_LEVEL="WARNING"),
    )


async def test_list_shows_what_waits_and_run_due_delivers_it(redis, redis_url):
    await make_contact(redis, "console:cli", language="en")
    items = (OrderItem("tea-250g", "tea", 1, 59.0),)
    shipped = OrderFacts("77", "console:cli", "shipped", T0, items, 59.0, "SF", "SF77")
    await on_order_status(redis, shipped, T0, rules_from(None), default_catalog())

    listed = followups_cli(redis_url, "list", "--contact", "console:cli")
    due_soon = followups_cli(
        redis_url, "list", "--due-before", (T0 + timedelta(hours=1)).isoformat()
    )
    ran = followups_cli(redis_url, "run-due", "--now", T0.isoformat())

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == [
        "2026-11-23T10:00+08:00",
        "pending",
        "order:77:shipped",
        "console:cli",
        "shipped",
        "transactional",
    ]
    assert [line.split()[2] for line in due_soon.stdout.splitlines()] == ["order:77:shipped"]
    assert ran.stdout.splitlines() == [
        "order:77:shipped: sent",
        "1 due: 1 sent, 0 skipped, 0 postponed, 0 to retry, 0 dead, 0 uncertain",
    ]
    [mail] = await mailbox.drain(redis, "console:cli")
    assert mail["text"] == "Hi there, your order 77 is on its way: SF, tracking number SF77."
