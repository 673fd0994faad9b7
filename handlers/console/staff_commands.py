"""``/staff`` (owners only), ``/claim`` (anyone with the code), ``/audit``, ``/help``."""

from __future__ import annotations

from handlers.console.framework import Call, Command, Refusal
from storage import audit, staff
from storage.staff import Role

AUDIT_DEFAULT = 10
AUDIT_MAX = 50
_STAFF_ACTIONS = {
    "add": "add",
    "添加": "add",
    "del": "del",
    "remove": "del",
    "rm": "del",
    "删除": "del",
    "list": "list",
    "列表": "list",
}


async def manage_staff(call: Call) -> None:
    """``/staff add|del <ref>``, ``/staff list``."""
    action, _, rest = call.args.partition(" ")
    match _STAFF_ACTIONS.get(action.lower()), rest.strip():
        case "list", "":
            members = await staff.staff_members(call.ctx.redis)
            call.reply(
                "console_staff_list", staff="\n".join(members) or call.render("console_none")
            )
        case ("add" | "del") as verb, ref if ref:
            contact_id = await call.services.refs.resolve(ref, call.ctx)
            if contact_id is None:
                raise Refusal("console_no_contact", ref=ref)
            call.target = contact_id
            await _change_staff(call, verb, contact_id)
        case _:
            raise call.usage()


async def _change_staff(call: Call, verb: str, contact_id: str) -> None:
    redis = call.ctx.redis
    if verb == "add":
        done = await staff.add_staff(redis, contact_id)
        call.reply("console_staff_added" if done else "console_staff_already", contact=contact_id)
    else:
        done = await staff.remove_staff(redis, contact_id)
        call.reply("console_staff_removed" if done else "console_staff_not", contact=contact_id)


async def claim(call: Call) -> bool:
    """Redeem the one-time claim code; a wrong code declines (the customer learns nothing).

    Refused while the shop has an owner. A refusal is audited; the code never is.
    """
    if call.ctx.role is Role.OWNER:
        call.reply("console_already_owner")
        return True
    has_owner = bool(call.ctx.settings.owners)
    if has_owner or not await staff.redeem_claim_code(call.ctx.redis, call.args, call.actor):
        await audit.record(call.ctx.redis, call.actor, "claim", call.actor, "refused", call.now)
        return False
    call.target = call.actor
    call.reply("console_claimed")
    return True


async def show_audit(call: Call) -> None:
    """The newest audit entries."""
    limit = int(call.args) if call.args.isdigit() else AUDIT_DEFAULT
    entries = await audit.recent(call.ctx.redis, min(max(limit, 1), AUDIT_MAX))
    lines = [
        f"{call.when(e.at)} {e.actor} /{e.action} {e.target} {e.detail}".rstrip() for e in entries
    ]
    call.reply("console_audit", entries="\n".join(lines) or call.render("console_none"))


async def show_help(call: Call) -> None:
    """``/help``: the commands the sender may run, with usage, in their language."""
    commands = call.console.for_role(call.ctx.role)
    lines = [call.render(command.help_key) for command in commands if not command.public]
    call.reply("console_help", commands="\n".join(lines))


HELP = Command("help", show_help, "help_help", aliases=("帮助",))

COMMANDS = (
    Command("staff", manage_staff, "help_staff", aliases=("员工",), owners_only=True),
    Command("audit", show_audit, "help_audit", aliases=("日志",), owners_only=True),
    Command("claim", claim, "help_claim", aliases=("认领",), public=True, audit_args=False),
)
