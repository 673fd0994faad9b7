"""Issue 14: a WeChat send that times out ends uncertain: not sent, not lost, not repeated."""

from __future__ import annotations

from datetime import timedelta

from fakes.wechat_api import CUSTOM_SEND
from fakes.wechat_messages import TOKEN, signed_params, text_xml
from followup_support import dispatcher

from bot.commands.followups import describe, uncertain
from bot.messages import Purpose
from storage import followups, send_claims
from storage.followups import Followup, State

ALICE = "wechat:oAlice"


def care(due) -> Followup:
    data = {"order_id": "1", "carrier": "SF", "tracking_no": "SF1"}
    return Followup("order:1:shipped", ALICE, due, "shipped", Purpose.TRANSACTIONAL, data)


async def test_a_follow_up_whose_send_times_out_ends_uncertain(
    make_wechat_app, wechat_settings, redis
):
    app = make_wechat_app(wechat_settings.model_copy(update={"wechat_api_timeout_s": 0.3}))
    response = await app.http.post(
        "/wechat", params=signed_params(TOKEN), content=text_xml("oAlice", "hello", 1)
    )
    assert response.status_code == 200  # the customer-service window is open
    await followups.schedule(redis, care(app.clock()))
    engine = dispatcher(redis, wechat_settings, app.runtime.delivery)
    app.api.hold(CUSTOM_SEND)  # WeChat carries the send out but answers too late

    report = await engine.run_due(app.clock())
    app.api.release()

    assert (report.claimed, report.sent, report.uncertain) == (1, 0, 1)
    assert report.results["order:1:shipped"].startswith("uncertain")
    [record] = await followups.of_contact(redis, ALICE)
    assert record.state is State.UNCERTAIN
    assert len(app.api.requests(CUSTOM_SEND)) == 1

    app.clock.advance(hours=1)
    later = await engine.run_due(app.clock())
    await followups.schedule(redis, care(app.clock()))  # a repeat of the order event
    repeated = await engine.run_due(app.clock())

    assert later.claimed == repeated.claimed == 0
    assert len(app.api.requests(CUSTOM_SEND)) == 1
    start = app.clock() - timedelta(days=1)
    [listed] = await send_claims.uncertain_between(redis, start, app.clock())
    assert (listed.contact_id, listed.idempotency_key) == (ALICE, "order:1:shipped")
    [shown] = await uncertain(redis, app.clock(), limit=10)  # what `followups list` adds
    assert describe(shown, wechat_settings.tz).split()[1:3] == ["uncertain", "order:1:shipped"]
