"""``/contact``: the media a contact sent (photos, voice, videos, files), newest first."""

from __future__ import annotations

from handlers.console.framework import Call
from storage import media
from storage.media import KeptMedia


async def media_section(contact_id: str, call: Call) -> str | None:
    """For ``/contact``: the media the contact sent, newest first, with ticket or handoff."""
    kept = await media.of_contact(call.ctx.redis, contact_id)
    if not kept:
        return None
    lines = [_line(call, item) for item in reversed(kept)]
    return call.render("console_contact_media", media="\n".join(lines))


def _line(call: Call, item: KeptMedia) -> str:
    local = item.at.astimezone(call.ctx.settings.tz)
    where = item.ticket_id or ""
    if item.handoff:
        where = f"{where} {call.render('media_in_handoff')}".strip()
    kind = call.render(f"media_kind.{item.kind}")
    return f"{local:%m-%d %H:%M} {kind} {item.channel}:{item.ref} {where}".rstrip()
