"""Opt-out and back through the dispatcher, in Chinese and English."""

from __future__ import annotations

import pytest
from support import make_dispatcher

from bot.messages import MessageKind
from storage import keys, optouts
from storage.optouts import ALL_CATEGORIES


@pytest.fixture
def dispatcher(redis, settings):
    return make_dispatcher(redis, settings)


@pytest.mark.parametrize(
    ("stop", "start", "stopped", "started"),
    [
        ("退订", "订阅", "已为您退订", "已为您重新订阅"),
        ("TD", "订阅", "已为您退订", "已为您重新订阅"),
        ("STOP", "START", "You're unsubscribed", "You're subscribed again"),
        ("unsubscribe", "subscribe", "You're unsubscribed", "You're subscribed again"),
    ],
)
async def test_opt_out_and_back(dispatcher, redis, make_message, stop, start, stopped, started):
    out = await dispatcher.dispatch(make_message(stop))
    recorded = await optouts.opt_outs_of(redis, "console:alice")
    back = await dispatcher.dispatch(make_message(start))

    assert out.replies[0].text.startswith(stopped)
    assert [o.category for o in recorded] == sorted(ALL_CATEGORIES)
    assert all(o.channel == "console" for o in recorded)
    assert back.replies[0].text.startswith(started)
    assert await optouts.opt_outs_of(redis, "console:alice") == []


async def test_the_start_command_is_the_greeting_not_a_subscription(
    dispatcher, redis, make_message
):
    await dispatcher.dispatch(make_message("STOP"))
    greeting = await dispatcher.dispatch(
        make_message("/start", kind=MessageKind.COMMAND, command="start")
    )
    assert greeting.replies[0].text.startswith("Hello again, welcome back")
    assert len(await optouts.opt_outs_of(redis, "console:alice")) == len(ALL_CATEGORIES)


async def test_opting_out_opens_no_ticket_and_records_no_question(dispatcher, redis, make_message):
    result = await dispatcher.dispatch(make_message("取消订阅"))
    assert len(result.replies) == 1 and result.others == ()
    assert await redis.keys(keys.unanswered()) == []
