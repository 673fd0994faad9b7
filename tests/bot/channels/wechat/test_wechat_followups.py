"""Follow-ups through the WeChat channel: the window rules are checked once, by the send."""

from __future__ import annotations

from followup_support import dispatcher, make_contact
from support import FIXED_NOW

from bot.messages import Purpose
from storage import followups, send_decisions
from storage.followups import Followup, State

ALICE = "wechat:oAlice"
REFUSED = "outside the customer-service window: no template message configured for transactional"


def _shipped() -> Followup:
    data = {"order_id": "7", "carrier": "SF", "tracking_no": "SF7"}
    return Followup(
        "order:7:shipped", ALICE, FIXED_NOW, "shipped", Purpose.TRANSACTIONAL, data=data
    )


async def test_a_followup_the_window_refuses_is_skipped_with_its_reason_not_retried(
    wechat_app, redis
):
    await make_contact(redis, ALICE)
    await followups.schedule(redis, _shipped())
    runtime = wechat_app.runtime

    report = await dispatcher(redis, runtime.settings, runtime.delivery).run_due(FIXED_NOW)

    [record] = await followups.of_contact(redis, ALICE)
    assert (record.state, record.reason) == (State.SKIPPED, REFUSED)
    assert (report.sent, report.retried) == (0, 0)
    assert wechat_app.api.requests() == []
    [decision] = await send_decisions.recent(redis, ALICE)
    assert (decision.allowed, decision.reason) == (False, REFUSED), "the send's one check"
