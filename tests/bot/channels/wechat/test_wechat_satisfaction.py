"""Satisfaction on WeChat: the question comes as numbered text; typing a digit rates."""

from __future__ import annotations

import xmltodict
from fakes.wechat_messages import TOKEN, signed_params, text_xml
from support import FIXED_NOW

from bot.messages import ContactRef, InboundMessage, MessageKind
from storage import satisfaction, tickets


async def _say(app, openid: str, text: str, msg_id: int) -> str:
    response = await app.http.post(
        "/wechat", params=signed_params(TOKEN), content=text_xml(openid, text, msg_id)
    )
    assert response.status_code == 200
    return xmltodict.parse(response.text)["xml"]["Content"]


async def test_a_digit_answers_the_numbered_rating_question(wechat_app, redis):
    opened = await _say(wechat_app, "oAmy", "我要退货 订单号 202611220001", 1)
    [ticket] = await tickets.list_open(redis)
    assert ticket.id in opened
    close = InboundMessage(
        id="owner-1",
        contact=ContactRef("telegram", "1"),
        chat_id="1",
        kind=MessageKind.COMMAND,
        received_at=FIXED_NOW,
        text=f"/close {ticket.id}",
        command="close",
        payload=ticket.id,
    )
    await wechat_app.runtime.receive(close)  # the customer's copies go out as custom messages
    sent = [r.body["text"]["content"] for r in wechat_app.api.requests("message/custom/send")]
    assert any("[1] 1 很不满意" in text and "[5] 5 非常满意" in text for text in sent)

    thanks = await _say(wechat_app, "oAmy", "4", 2)
    assert "4 分" in thanks
    assert (await satisfaction.get(redis, ticket.id)).score == 4
