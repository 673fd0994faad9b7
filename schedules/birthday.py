"""Birthday wishes (生日祝福): the greeting a tier's benefits promise once a birthday is known.

A birthday is kept on the contact as ``MM-DD``. Recording one (``/contact C1 birthday
05-12``, the contacts import) schedules the next greeting, ``birthday:<contact>:<year>``,
at ``GREETING_HOUR`` local time on the day; every counted order schedules it again, so
the next year's follows (the id is deterministic: scheduling twice is harmless). The
greeting is non-urgent care: it waits for the end of quiet hours and expires after a day.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.messages import Purpose
from schedules.lifecycle import EXPIRES_AT, WAITS_FOR_QUIET_END
from storage import contacts, followups
from storage.followups import Followup
from storage.timestamps import to_epoch

TEMPLATE = "birthday"
GREETING_HOUR = time(10, 0)
EXPIRES_AFTER = timedelta(days=1)
_BIRTHDAY = re.compile(r"^\s*(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})\s*$")


def parse_birthday(text: str) -> str:
    """``MM-DD`` from ``05-12``, ``5/12`` or ``1990-05-12``; ``ValueError`` for anything else."""
    match = _BIRTHDAY.match(text)
    if match is None:
        raise ValueError("must be MM-DD or YYYY-MM-DD, e.g. 05-12")
    month, day = int(match.group(2)), int(match.group(3))
    try:
        date(2000, month, day)  # A leap year: 02-29 is a birthday.
    except ValueError:
        raise ValueError(f"{text.strip()} is not a day of the year") from None
    return f"{month:02d}-{day:02d}"


def next_greeting(birthday: str, now: datetime, tz: ZoneInfo) -> datetime:
    """When the next greeting is due: the birthday at ``GREETING_HOUR`` local, today or later
    (02-29 is greeted on 02-28 in other years)."""
    month, day = (int(part) for part in birthday.split("-"))
    local_today = now.astimezone(tz).date()
    for year in (local_today.year, local_today.year + 1):
        moment = datetime.combine(_day_in(year, month, day), GREETING_HOUR, tzinfo=tz)
        if moment + EXPIRES_AFTER > now:
            return moment
    raise AssertionError("unreachable: next year's birthday is always ahead")


def _day_in(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, 2, 28)


def greeting(contact_id: str, birthday: str, now: datetime, tz: ZoneInfo) -> Followup:
    """The follow-up greeting the contact on their next birthday."""
    due = next_greeting(birthday, now, tz)
    return Followup(
        id=f"{TEMPLATE}:{contact_id}:{due.year}",
        contact_id=contact_id,
        due_at=due,
        template=TEMPLATE,
        purpose=Purpose.TRANSACTIONAL,
        data={EXPIRES_AT: to_epoch(due + EXPIRES_AFTER), WAITS_FOR_QUIET_END: True},
    )


async def record_birthday(
    redis: Redis, contact_id: str, text: str, now: datetime, tz: ZoneInfo
) -> str:
    """Store the contact's birthday (``MM-DD``) and schedule the next greeting.

    Raises ``ValueError`` for a text that is not a birthday; nothing is stored then.
    """
    birthday = parse_birthday(text)
    await contacts.update(redis, contact_id, {"birthday": birthday})
    await followups.schedule(redis, greeting(contact_id, birthday, now, tz), replace=True)
    return birthday


async def schedule_next(redis: Redis, contact_id: str, now: datetime, tz: ZoneInfo) -> bool:
    """Schedule the next greeting if the contact's birthday is known; True when new."""
    contact = await contacts.get(redis, contact_id)
    if contact is None or contact.birthday is None:
        return False
    return await followups.schedule(redis, greeting(contact_id, contact.birthday, now, tz))
