"""Bot API updates as InboundMessages."""

from __future__ import annotations

from support import FIXED_NOW
from telegram import Update

from bot.channels.telegram.parsing import Incoming, Notice, parse_update
from bot.messages import ContactRef, MessageKind

USER = {
    "id": 42,
    "is_bot": False,
    "first_name": "Li",
    "last_name": "Lei",
    "language_code": "zh-hans",
}
PRIVATE = {"id": 42, "type": "private", "first_name": "Li"}
GROUP = {"id": -100300, "type": "supergroup", "title": "Staff"}


def _message(update_id: int = 7, chat: dict = PRIVATE, **fields) -> Update:
    message = {"message_id": 1, "date": 1_700_000_000, "chat": chat, "from": USER} | fields
    return Update.de_json({"update_id": update_id, "message": message}, None)


def _parse(update: Update) -> Incoming:
    parsed = parse_update(update, FIXED_NOW)
    assert isinstance(parsed, Incoming)
    return parsed


def test_text_becomes_a_text_message_with_the_update_id():
    incoming = _parse(_message(text="你好"))
    message = incoming.message

    assert (message.id, message.kind, message.text) == ("7", MessageKind.TEXT, "你好")
    assert message.contact == ContactRef("telegram", "42")
    assert (message.chat_id, message.language_hint, message.display_name) == (
        "42",
        "zh-hans",
        "Li Lei",
    )
    assert message.received_at == FIXED_NOW and not incoming.in_group


def test_start_with_a_deep_link_payload_is_a_command_with_a_source():
    incoming = _parse(_message(text="/start spring_sale-2026"))
    assert (incoming.message.kind, incoming.message.command) == (MessageKind.COMMAND, "start")
    assert incoming.message.source == "spring_sale-2026"


def test_start_without_or_with_an_odd_payload_has_no_source():
    assert _parse(_message(text="/start")).message.source is None
    assert _parse(_message(text="/start hello world!")).message.source is None
    assert _parse(_message(text="/help spring")).message.source is None


def test_a_photo_is_media_with_its_caption():
    photo = [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]
    incoming = _parse(_message(photo=photo, caption="这个有货吗"))
    assert (incoming.message.kind, incoming.message.text) == (MessageKind.MEDIA, "这个有货吗")


def test_a_callback_query_is_a_button_press_labelled_from_its_keyboard():
    keyboard = {"inline_keyboard": [[{"text": "查看物流", "callback_data": "track:A1"}]]}
    query = {
        "id": "cb1",
        "from": USER,
        "chat_instance": "ci",
        "data": "track:A1",
        "message": {
            "message_id": 5,
            "date": 1_700_000_000,
            "chat": PRIVATE,
            "reply_markup": keyboard,
        },
    }
    incoming = _parse(Update.de_json({"update_id": 8, "callback_query": query}, None))

    assert incoming.message.kind == MessageKind.BUTTON
    assert (incoming.message.payload, incoming.message.text) == ("track:A1", "查看物流")
    assert incoming.callback_query_id == "cb1" and incoming.message.chat_id == "42"


def test_edited_messages_and_service_messages_are_ignored():
    edited = {
        "message_id": 1,
        "date": 1,
        "edit_date": 2,
        "chat": PRIVATE,
        "from": USER,
        "text": "x",
    }
    assert (
        parse_update(Update.de_json({"update_id": 9, "edited_message": edited}, None), FIXED_NOW)
        is None
    )
    pinned = _message(pinned_message={"message_id": 3, "date": 0, "chat": PRIVATE})
    assert parse_update(pinned, FIXED_NOW) is None


def test_a_group_command_names_its_bot():
    incoming = _parse(_message(chat=GROUP, text="/tickets@ShopTestBot open"))
    assert incoming.in_group and incoming.addressed_to == "ShopTestBot"
    assert (incoming.message.command, incoming.message.payload) == ("tickets", "open")
    assert incoming.message.chat_id == "-100300"


def test_blocking_and_unblocking_the_bot_are_notices_not_messages():
    def change(status: str) -> Update:
        member = {"user": {"id": 4242, "is_bot": True, "first_name": "Shop"}, "status": status}
        data = {
            "chat": PRIVATE,
            "from": USER,
            "date": 1,
            "old_chat_member": member | {"status": "member"},
            "new_chat_member": member if status != "kicked" else member | {"until_date": 0},
        }
        return Update.de_json({"update_id": 10, "my_chat_member": data}, None)

    for status, event in (("kicked", "blocked"), ("member", "unblocked")):
        notice = parse_update(change(status), FIXED_NOW)
        assert isinstance(notice, Notice)
        message = notice.message
        assert (message.id, message.contact, message.kind) == (
            "10",
            ContactRef("telegram", "42"),
            MessageKind.EVENT,
        )
        assert (message.event, message.received_at) == (event, FIXED_NOW)
