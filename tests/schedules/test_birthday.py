"""Birthday wishes: parsing, /contact and the contacts import record a birthday and schedule
the greeting, which waits for quiet hours to end and expires after a day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from followup_support import T0, RecordingOutlet, dispatcher, make_contact
from openpyxl import Workbook
from support import FIXED_NOW, make_dispatcher, send_command

from bot.sheets import read_rows
from config.settings import Settings
from handlers.spreadsheets import import_contacts
from schedules.birthday import next_greeting, parse_birthday, record_birthday
from storage import contacts, followups
from storage.followups import State

TZ = Settings().tz
AMY = "console:amy"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("05-12", "05-12"), ("5/12", "05-12"), ("1990-05-12", "05-12"), ("02-29", "02-29")],
)
def test_birthdays_are_read(text, expected):
    assert parse_birthday(text) == expected


@pytest.mark.parametrize("text", ["13-01", "02-30", "tomorrow", "", "1990"])
def test_bad_birthdays_are_refused(text):
    with pytest.raises(ValueError):
        parse_birthday(text)


def test_next_greeting_is_this_year_or_next():
    now = datetime(2026, 11, 23, 10, tzinfo=TZ)
    assert next_greeting("12-01", now, TZ) == datetime(2026, 12, 1, 10, tzinfo=TZ)
    assert next_greeting("05-12", now, TZ) == datetime(2027, 5, 12, 10, tzinfo=TZ)
    assert next_greeting("02-29", now, TZ) == datetime(2027, 2, 28, 10, tzinfo=TZ)


async def test_the_greeting_goes_out_on_the_day(redis, settings):
    await make_contact(redis, AMY, name="Amy")
    await record_birthday(redis, AMY, "11-24", T0, TZ)
    outlet = RecordingOutlet()
    bot = dispatcher(redis, settings, outlet)
    await bot.run_due(T0 + timedelta(hours=23))
    assert outlet.sent == []
    await bot.run_due(T0 + timedelta(days=1))
    assert outlet.texts_to(AMY) == [
        "Happy birthday, Amy! Everyone at Shopbot wishes you a wonderful day. 🎂"
    ]


async def test_a_greeting_not_sent_on_the_day_expires(redis, settings):
    await make_contact(redis, AMY)
    await record_birthday(redis, AMY, "11-24", T0, TZ)
    outlet = RecordingOutlet()
    report = await dispatcher(redis, settings, outlet).run_due(T0 + timedelta(days=3))
    assert outlet.sent == [] and report.skipped == {"expired": 1}
    [record] = await followups.records(redis, ["birthday:console:amy:2026"])
    assert (record.state, record.reason) == (State.SKIPPED, "expired")


@pytest.fixture
def say(redis, settings, make_message):
    bot = make_dispatcher(redis, settings)

    async def send(contact: str, text: str) -> str:
        return await send_command(bot, make_message, contact, text)

    return send


async def test_contact_command_records_and_shows_the_birthday(redis, say):
    await contacts.touch(redis, "wechat:oB", FIXED_NOW)
    set_reply = await say("telegram:1", "/contact wechat:oB birthday 1992-03-08")
    card = await say("telegram:1", "/contact wechat:oB")
    bad = await say("telegram:1", "/contact wechat:oB birthday 31-31")

    assert "Birthday of" in set_reply and "03-08" in set_reply
    assert "birthday: 03-08" in card
    assert "Cannot read the birthday" in bad
    assert (await contacts.get(redis, "wechat:oB")).birthday == "03-08"
    [greeting] = await followups.of_contact(redis, "wechat:oB")
    assert greeting.followup.id == "birthday:wechat:oB:2027"


async def test_the_contacts_import_reads_birthdays_and_refuses_bad_ones(redis, tmp_path):
    path = tmp_path / "contacts.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["联系人", "姓名", "生日"])
    sheet.append(["wechat:oA", "王芳", "05-12"])
    sheet.append(["wechat:oB", "李雷", date(1990, 12, 1)])  # a spreadsheet date cell
    sheet.append(["wechat:oC", "韩梅", "not a day"])
    book.save(path)

    report = await import_contacts(redis, read_rows(path), now=FIXED_NOW, tz=TZ)

    assert [(e.row, e.field) for e in report.errors] == [(4, "birthday")]
    assert (await contacts.get(redis, "wechat:oA")).birthday == "05-12"
    assert (await contacts.get(redis, "wechat:oB")).birthday == "12-01"
    assert await contacts.get(redis, "wechat:oC") is None, "a bad row is left out whole"
    [greeting] = await followups.of_contact(redis, "wechat:oB")
    assert greeting.followup.due_at == datetime(2026, 12, 1, 10, tzinfo=TZ)
