"""A customer's photo reaches the terminal owner as a line naming it; /contact lists it."""

from __future__ import annotations

import io

from bot.channels.terminal import ChatSession
from bot.messages import Attachment, ContactRef, MediaKind, MessageKind

OWNER = ContactRef("console", "owner")
LI = ContactRef("telegram", "42")
PHOTO = Attachment(MediaKind.PHOTO, "telegram", "AgACAgQ-photo-1")


async def owner_screen(shop_day) -> str:
    out = io.StringIO()
    session = ChatSession(
        OWNER, shop_day.runtime.receive, shop_day.runtime.redis, out, shop_day.clock
    )
    await session.show_mailbox()
    return out.getvalue()


async def test_a_photo_on_a_ticket_reaches_the_terminal_owner_as_a_line(shop_day):
    assert "T1001" in (await shop_day.say(LI, "有色差"))[0]
    await owner_screen(shop_day)  # the complaint notice
    [thanks] = await shop_day.say(LI, "", kind=MessageKind.MEDIA, attachment=PHOTO)
    assert "收到您发来的内容啦" in thanks and "客服会尽快回复您" in thanks

    screen = await owner_screen(shop_day)
    assert "📎 客户发来图片：C1 · telegram" in screen and "｜工单 T1001" in screen
    assert "[attachment: photo telegram:AgACAgQ-photo-1]" in screen

    [contact] = await shop_day.say(OWNER, "/contact C1")
    # Console commands answer in the owner's language: English for "/contact C1".
    listed = (
        "Photos and files from this customer:\n11-23 18:00 photo telegram:AgACAgQ-photo-1 T1001"
    )
    assert listed in contact


async def test_media_without_a_handle_still_reaches_the_owner(shop_day):
    await shop_day.say(LI, "", kind=MessageKind.MEDIA)
    screen = await owner_screen(shop_day)
    assert "📎 客户发来图片/文件" in screen and "[attachment:" not in screen
    [contact] = await shop_day.say(OWNER, "/contact C1")
    assert "Photos and files" not in contact
