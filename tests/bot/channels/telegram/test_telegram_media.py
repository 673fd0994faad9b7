"""A customer's photos, voice and files on Telegram: parsed with their file_id, and sent
to a Telegram owner as the media itself (by file_id, no download)."""

from __future__ import annotations

import pytest
from support import FIXED_NOW
from telegram import Update

from bot.channels.telegram.parsing import Incoming, parse_update
from bot.channels.telegram.sender import TelegramSender
from bot.messages import Attachment, ContactRef, MediaKind, MessageKind, OutboundMessage

USER = {"id": 42, "is_bot": False, "first_name": "Li", "language_code": "zh-hans"}
PRIVATE = {"id": 42, "type": "private", "first_name": "Li"}


def _parse(**fields) -> Incoming:
    message = {"message_id": 1, "date": 1_700_000_000, "chat": PRIVATE, "from": USER} | fields
    parsed = parse_update(Update.de_json({"update_id": 9, "message": message}, None), FIXED_NOW)
    assert isinstance(parsed, Incoming)
    return parsed


def _size(file_id: str, width: int) -> dict:
    return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": width, "height": width}


def test_a_photo_keeps_the_file_id_of_its_largest_size():
    incoming = _parse(photo=[_size("small", 90), _size("large", 1280)], caption="坏了")
    message = incoming.message
    assert (message.kind, message.text) == (MessageKind.MEDIA, "坏了")
    assert message.attachment == Attachment(MediaKind.PHOTO, "telegram", "large")


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("voice", {"file_id": "v1", "file_unique_id": "uv1", "duration": 3}, MediaKind.VOICE),
        ("document", {"file_id": "d1", "file_unique_id": "ud1"}, MediaKind.FILE),
        (
            "video",
            {"file_id": "m1", "file_unique_id": "um1", "width": 1, "height": 1, "duration": 1},
            MediaKind.VIDEO,
        ),
    ],
)
def test_voice_files_and_videos_keep_their_file_id(field, value, kind):
    message = _parse(**{field: value}).message
    assert message.attachment == Attachment(kind, "telegram", value["file_id"])


def test_a_sticker_is_media_without_an_attachment():
    sticker = {
        "file_id": "s1",
        "file_unique_id": "us1",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
        "type": "regular",
    }
    message = _parse(sticker=sticker).message
    assert (message.kind, message.attachment) == (MessageKind.MEDIA, None)


def _to(chat: int, text: str, attachment: Attachment) -> OutboundMessage:
    return OutboundMessage(ContactRef("telegram", str(chat)), text, attachment=attachment)


async def test_a_customers_photo_reaches_a_telegram_owner_as_the_photo(bot, redis, fake_bot_api):
    sender = TelegramSender(bot, redis)
    photo = Attachment(MediaKind.PHOTO, "telegram", "AgACAgQAAxk-photo")
    await sender.send(_to(1, "📎 客户发来图片", photo))
    assert fake_bot_api.texts_to(1) == ["📎 客户发来图片"]
    assert fake_bot_api.photos == [("1", "AgACAgQAAxk-photo")]


async def test_voice_and_files_are_sent_by_file_id(bot, redis, fake_bot_api):
    sender = TelegramSender(bot, redis)
    await sender.send(_to(1, "voice", Attachment(MediaKind.VOICE, "telegram", "v-1")))
    await sender.send(_to(1, "file", Attachment(MediaKind.FILE, "telegram", "d-1")))
    assert fake_bot_api.media == [("sendVoice", "1", "v-1"), ("sendDocument", "1", "d-1")]


async def test_media_from_another_platform_is_named_not_sent(bot, redis, fake_bot_api):
    sender = TelegramSender(bot, redis)
    await sender.send(_to(1, "📎 客户发来图片", Attachment(MediaKind.PHOTO, "wechat", "MEDIA1")))
    assert fake_bot_api.texts_to(1) == ["📎 客户发来图片"]
    assert fake_bot_api.photos == [] and fake_bot_api.media == []
