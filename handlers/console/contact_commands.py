"""``/contact``, ``/tag``, ``/untag``, ``/tags``, ``/note``, ``/find``, ``/forget``."""

from __future__ import annotations

import shlex

from config.membership import membership_from
from handlers.console.framework import Call, Command, Refusal
from handlers.console.refs import looks_like_reference
from handlers.erasure import ForgetRefused, check_forgettable, forget_contact
from schedules import birthday
from storage import contacts, optouts, orders, segments
from storage.contacts import Contact, TagSource
from storage.segment_parser import SegmentError, parse

FIND_LIMIT = 10
CARD_ORDERS = 5
CARD_NOTES = 5


async def contact_of(call: Call, *, need_more: bool = False) -> tuple[Contact, list[str]]:
    """The contact the command names (must exist) and the remaining words; sets the target."""
    words = _words(call.args)
    contact_id, rest = await call.services.refs.take(words, call.message, call.ctx)
    if contact_id is None and words and looks_like_reference(words[0]):
        raise Refusal("console_no_contact", ref=words[0])
    if contact_id is None or (need_more and not rest):
        raise call.usage()
    contact = await contacts.get(call.ctx.redis, contact_id)
    if contact is None:
        raise Refusal("console_no_contact", ref=words[0] if words else "")
    call.target = contact.id
    return contact, rest


def label(contact: Contact) -> str:
    """``C12 Alice (wechat:oABC)``: how the console names a contact."""
    name = f" {contact.display_name}" if contact.display_name else ""
    return f"{contact.short_id}{name} ({contact.id})"


BIRTHDAY_WORDS = frozenset({"birthday", "生日"})


async def show_contact(call: Call) -> None:
    """One screen about a contact; ``/contact C1 birthday 05-12`` records a birthday."""
    contact, rest = await contact_of(call)
    match rest:
        case []:
            pass
        case [word, value] if word.lower() in BIRTHDAY_WORDS:
            await _record_birthday(call, contact, value)
            return
        case _:
            raise call.usage()
    redis = call.ctx.redis
    tags = await contacts.tags_of(redis, contact.id)
    notes = await contacts.notes_of(redis, contact.id)
    summary = await orders.purchase_summary(redis, contact.id)
    recent = await orders.orders_of(redis, contact.id, CARD_ORDERS)
    opted = await optouts.opt_outs_of(redis, contact.id)
    none = call.render("console_none")
    lines = [
        call.render(
            "console_contact_card",
            contact=label(contact),
            channel=contact.channel,
            reach=call.render("console_unreachable", reason=contact.unreachable)
            if contact.unreachable
            else call.render("console_reachable"),
            first_seen=call.when(contact.first_seen),
            last_seen=call.when(contact.last_seen),
            messages=contact.message_count,
            source=contact.source or none,
            lang=contact.language or none,
            birthday=contact.birthday or none,
            tags=", ".join(tags) or none,
            orders=summary.orders,
            spend=call.money(summary.spend),
            optouts=", ".join(f"{o.category} ({call.when(o.opted_out_at)})" for o in opted) or none,
        )
    ]
    lines += [call.render("console_order_line", **order_fields(call, o)) for o in recent]
    if notes:
        lines.append(call.render("console_notes_heading"))
        lines += [f"- {call.when(n.written_at)} {n.author}: {n.text}" for n in notes[-CARD_NOTES:]]
    for section in call.services.contact_sections:
        text = await section(contact.id, call)
        if text:
            lines.append(text)
    call.ctx.reply("\n".join(lines))


async def _record_birthday(call: Call, contact: Contact, value: str) -> None:
    try:
        born = await birthday.record_birthday(
            call.ctx.redis, contact.id, value, call.now, call.ctx.settings.tz
        )
    except ValueError as exc:
        raise Refusal("console_bad_birthday", value=value, error=str(exc)) from None
    call.reply("console_birthday_set", contact=label(contact), birthday=born)


def order_fields(call: Call, order: orders.Order) -> dict[str, str]:
    """Placeholders for a one-line order summary."""
    items = ", ".join(f"{i.name} x{i.quantity}" for i in order.items)
    return {
        "id": order.id,
        "status": call.render(f"order_status_{order.status.value}"),
        "amount": call.money(order.amount),
        "items": items,
        "placed": call.when(order.placed_at),
    }


async def tag(call: Call) -> None:
    """Add owner tags."""
    contact, tags = await contact_of(call, need_more=True)
    added = await contacts.add_tags(call.ctx.redis, contact.id, tags, TagSource.OWNER, call.now)
    kept = [t for t in tags if t not in added]
    text = call.render(
        "console_tagged",
        contact=label(contact),
        added=", ".join(added) or "-",
        kept=", ".join(kept) or "-",
    )
    # Kept tags too: one refused earlier (a WeChat limit) is tried again.
    await _reply_mirrored(call, text, contact.id, added=[*added, *kept], removed=[])


async def untag(call: Call) -> None:
    """Remove tags."""
    contact, tags = await contact_of(call, need_more=True)
    removed = await contacts.remove_tags(call.ctx.redis, contact.id, tags)
    text = call.render(
        "console_untagged", contact=label(contact), removed=", ".join(removed) or "-"
    )
    await _reply_mirrored(call, text, contact.id, added=[], removed=tags)


async def _reply_mirrored(
    call: Call, text: str, contact_id: str, *, added: list[str], removed: list[str]
) -> None:
    """Mirror the change to the platform's user tags; reply, naming what was not mirrored."""
    mirror = call.services.tag_mirror
    problems = await mirror.mirror(contact_id, added, removed) if mirror else []
    lines = [text]
    lines += [call.render(f"tag_mirror_{p.reason.value}", tag=p.tag) for p in problems]
    call.ctx.reply("\n".join(lines))


async def list_tags(call: Call) -> None:
    """Every tag with how many contacts carry it."""
    counts = await contacts.tag_counts(call.ctx.redis)
    if not counts:
        raise Refusal("console_no_tags")
    lines = [f"{tag_name}: {count}" for tag_name, count in counts.items()]
    call.reply("console_tags", tags="\n".join(lines))


async def note(call: Call) -> None:
    """Leave a note on a contact (the text as typed, after the reference)."""
    contact, _ = await contact_of(call, need_more=True)
    first, _, after = call.args.partition(" ")
    text = after if looks_like_reference(first) else call.args
    await contacts.add_note(call.ctx.redis, contact.id, call.actor, text.strip(), call.now)
    call.reply("console_noted", contact=label(contact))


async def find(call: Call) -> None:
    """Count and list the contacts matching a segment expression."""
    if not call.args:
        raise call.usage()
    try:
        segment = parse(call.args)
    except SegmentError as exc:
        raise Refusal("console_bad_segment", error=str(exc)) from None
    stage_rules = membership_from(call.ctx.settings.membership_file).stages
    match = await segments.find(
        call.ctx.redis, segment, call.now, FIND_LIMIT, stage_rules=stage_rules
    )
    found = [await contacts.get(call.ctx.redis, cid) for cid in match.contact_ids]
    lines = [f"{label(c)} · {call.when(c.last_seen)}" for c in found if c is not None]
    call.reply("console_found", count=match.count, shown=len(lines), contacts="\n".join(lines))


def _words(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


CONFIRM_WORDS = frozenset({"confirm", "确认"})


async def forget(call: Call) -> None:
    """``/forget <ref>`` shows whom it would erase; ``/forget <ref> confirm`` erases them.

    Neither step puts what the owner typed in the audit log (it may be the platform id):
    the erasure writes its own entry, naming only the anonymous id.
    """
    call.audit_detail = "asked"
    contact, rest = await contact_of(call)
    ref = call.args.split()[0] if call.args.split() else contact.short_id
    owners = [owner.id for owner in call.ctx.owners]
    try:
        await check_forgettable(call.ctx.redis, contact.id, owners)
    except ForgetRefused as refused:
        raise Refusal(f"console_forget_refused_{refused.reason}", ref=ref) from None
    if not (len(rest) == 1 and rest[0].lower() in CONFIRM_WORDS):
        if rest:
            raise call.usage()
        call.reply("console_forget_confirm", contact=label(contact), ref=contact.short_id)
        return
    report = await forget_contact(
        call.ctx.redis, call.ctx.settings, contact.id, actor=call.actor, now=call.now, owners=owners
    )
    call.audited = False
    disk = call.render(f"console_forget_disk_{report.disk.value.replace('-', '_')}")
    call.reply("console_forgotten", anonymous=report.erasure.anonymous_id, disk=disk)


COMMANDS = (
    Command("contact", show_contact, "help_contact", aliases=("客户",)),
    Command("tag", tag, "help_tag", aliases=("标签", "打标签")),
    Command("untag", untag, "help_untag", aliases=("去标签", "删标签")),
    Command("tags", list_tags, "help_tags", aliases=("全部标签", "标签列表")),
    Command("note", note, "help_note", aliases=("备注",)),
    Command("find", find, "help_find", aliases=("查找", "筛选")),
    Command("forget", forget, "help_forget", aliases=("删除客户",), owners_only=True),
)
