"""The revisit (回访) answers: 不满意 opens a ticket like a low rating, once per order."""

from __future__ import annotations

import pytest
from support import make_dispatcher

from bot.messages import MessageKind
from storage import tickets

AMY = "console:amy"


@pytest.fixture
def press(redis, settings, make_message):
    bot = make_dispatcher(redis, settings)

    async def press(label: str, payload: str):
        message = make_message(label, contact=AMY, kind=MessageKind.BUTTON, payload=payload)
        return await bot.dispatch(message)

    return press


async def test_unhappy_revisit_opens_a_ticket_and_tells_the_owners(press, redis):
    result = await press("不满意", "revisit:bad:8812")
    [ticket] = await tickets.for_contact(redis, AMY)
    assert (ticket.intent, ticket.order_number) == ("revisit_unhappy", "8812")
    assert result.replies[0].text == (
        f"非常抱歉让您不满意，已为您登记工单 {ticket.id}，客服会尽快回复您。"
    )
    [notice, *_] = result.others
    assert f"回访不满意：订单 8812，已开工单 {ticket.id}" in notice.text


async def test_a_second_unhappy_press_opens_no_second_ticket(press, redis):
    await press("不满意", "revisit:bad:8812")
    again = await press("不满意", "revisit:bad:8812")
    [ticket] = await tickets.for_contact(redis, AMY)
    assert ticket.id in again.replies[0].text


@pytest.mark.parametrize("answer", ["good", "okay"])
async def test_a_happy_revisit_opens_nothing(press, redis, answer):
    result = await press("很满意", f"revisit:{answer}:8812")
    assert result.replies[0].text == "感谢您的反馈，我们会继续努力！"
    assert await tickets.for_contact(redis, AMY) == []
