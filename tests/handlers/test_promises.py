"""Every promise of a person's answer is backed by someone being told, and true to the hours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import FIXED_NOW, make_dispatcher

from bot.dispatcher import Dispatcher
from bot.messages import ContactRef
from handlers.promises import opens_at

# FIXED_NOW is 18:00 in Shanghai.
NIGHT = FIXED_NOW + timedelta(hours=6)  # 00:00 in Shanghai
OWNERS = {ContactRef("telegram", "1"), ContactRef("console", "owner")}


def at(dispatcher: Dispatcher, when) -> Dispatcher:
    dispatcher.clock = lambda: when
    return dispatcher


async def test_an_unanswered_question_is_passed_to_the_owners(redis, settings, make_message):
    dispatcher = make_dispatcher(redis, settings)
    result = await dispatcher.dispatch(
        make_message("你们周末有直播吗", contact="telegram:5", display_name="小美")
    )
    [reply] = result.replies
    assert "转给客服，客服会尽快回复您。" in reply.text
    assert {notice.recipient for notice in result.others} == OWNERS
    notice = result.others[0].text
    assert "· telegram · 小美" in notice and "你们周末有直播吗" in notice
    assert "/reply C1" in notice


@pytest.mark.parametrize(
    ("text", "zh_promise"),
    [
        ("转人工", "客服会在今天 09:00上班后第一时间回复您"),
        ("这个问题小助手肯定不会", "客服会在今天 09:00上班后第一时间回复您"),
    ],
)
async def test_at_night_the_bot_says_when_a_person_answers(
    redis, settings, make_message, text, zh_promise
):
    dispatcher = at(make_dispatcher(redis, settings), NIGHT)
    result = await dispatcher.dispatch(make_message(text))
    [reply] = result.replies
    assert zh_promise in reply.text
    assert "尽快" not in reply.text
    assert {notice.recipient for notice in result.others} == OWNERS


async def test_a_waiting_customer_is_told_when_too(redis, settings, make_message):
    dispatcher = at(make_dispatcher(redis, settings), NIGHT)
    await dispatcher.dispatch(make_message("人工", contact="console:en"))
    result = await dispatcher.dispatch(make_message("human", contact="console:en"))
    assert "a person will reply today at 09:00" in result.replies[0].text


@pytest.mark.parametrize(
    ("hours", "local", "expected"),
    [
        ("09:00-22:00", "08:59", "09:00 same day"),
        ("09:00-22:00", "09:00", None),
        ("09:00-22:00", "21:59", None),
        ("09:00-22:00", "22:00", "09:00 next day"),
        ("20:00-02:00", "01:00", None),
        ("20:00-02:00", "03:00", "20:00 same day"),
        ("09:00-09:00", "03:00", None),  # equal ends: always staffed
    ],
)
def test_business_hours(settings, hours, local, expected):
    tz = settings.tz
    day = FIXED_NOW.astimezone(tz).replace(second=0, microsecond=0)
    hour, minute = map(int, local.split(":"))
    now = day.replace(hour=hour, minute=minute)
    opening = opens_at(hours, now, tz)
    if expected is None:
        assert opening is None
        return
    clock, which = expected.split(" ", 1)
    days = 1 if which == "next day" else 0
    assert opening == (now + timedelta(days=days)).replace(
        hour=int(clock[:2]), minute=int(clock[3:])
    )
