"""Every console command through the dispatcher, on real Redis: as owner, staff and customer."""

from __future__ import annotations

import pytest
from support import FIXED_NOW, make_dispatcher, send_command

from bot.messages import MessageKind, parse_command
from config.i18n import default_templates
from handlers.console import Command, build_console
from handlers.fallback import fallback
from storage import audit, contacts, optouts, orders, staff
from storage.contacts import TagSource
from storage.optouts import OptOutCategory

OWNER = "telegram:1"
STAFF = "telegram:2"
CUSTOMER = "wechat:oCUST"
FALLBACK_EN = default_templates().render("fallback", "en", promise="A person will reply shortly.")
FALLBACK_ZH = default_templates().render("fallback", "zh-CN", promise="客服会尽快回复您。")


@pytest.fixture
def dispatcher(redis, settings):
    return make_dispatcher(redis, settings)


@pytest.fixture
def say(dispatcher, make_message):
    async def send(contact: str, text: str, **fields) -> str:
        parsed = parse_command(text)
        if parsed is None:
            message = make_message(text, contact=contact, **fields)
        else:
            name, args = parsed
            # Like a chat app set to English: a command's own text carries no language.
            message = make_message(
                text,
                contact=contact,
                kind=MessageKind.COMMAND,
                command=name,
                payload=args,
                **{"language_hint": "en"} | fields,
            )
        result = await dispatcher.dispatch(message)
        return "\n".join(reply.text for reply in result.replies)

    return send


@pytest.fixture
async def people(redis, say):
    """The owner, a staff member and a customer who have all written once."""
    for contact in (OWNER, STAFF, CUSTOMER):
        await say(contact, "hello")
    await staff.add_staff(redis, STAFF)
    return {c: (await contacts.get(redis, c)).short_id for c in (OWNER, STAFF, CUSTOMER)}


CUSTOMER_TRIES = [
    "/help",
    "/contact C1",
    "/tag C3 VIP",
    "/tags",
    "/note C3 hi",
    "/find tag:VIP",
    "/order add C3 tea-250g",
    "/staff list",
    "/audit",
    "/claim wrongcode",
    "/nosuchcommand",
    "/标签 C3 VIP",
]


async def owner_tags(redis, contact_id: str) -> set[str]:
    """The tags an owner put on the contact (automatic tags left out)."""
    tags = await contacts.tags_of(redis, contact_id)
    return {tag for tag, info in tags.items() if info.source is TagSource.OWNER}


@pytest.mark.parametrize("text", CUSTOMER_TRIES)
async def test_a_customer_typing_a_console_command_gets_the_customer_answer(
    redis, say, people, text
):
    answer = await say(CUSTOMER, text)
    assert answer in (FALLBACK_EN, FALLBACK_ZH)
    assert await owner_tags(redis, CUSTOMER) == set()
    actions = [(e.action, e.detail) for e in await audit.recent(redis)]
    # Nothing a customer does is a console action; a failed claim is audited (issue 13).
    assert actions == ([("claim", "refused")] if text.startswith("/claim") else [])


async def test_owner_tags_untags_and_lists_tags(redis, say, people):
    short = people[CUSTOMER]
    reply = await say(OWNER, f"/tag {short} VIP 回头客")
    assert "VIP, 回头客" in reply and CUSTOMER in reply
    assert await owner_tags(redis, CUSTOMER) == {"VIP", "回头客"}
    assert (await contacts.tags_of(redis, CUSTOMER))["VIP"].source is TagSource.OWNER

    again = await say(OWNER, f"/tag {CUSTOMER} VIP")
    assert "already had: VIP" in again

    assert "VIP: 1" in await say(OWNER, "/tags")
    assert "VIP" in await say(OWNER, f"/untag {short} VIP")
    assert await owner_tags(redis, CUSTOMER) == {"回头客"}


async def test_chinese_aliases_answer_in_chinese(redis, say, people):
    reply = await say(OWNER, f"/标签 {people[CUSTOMER]} VIP")
    assert "新增标签：VIP" in reply
    assert "全部标签" in await say(OWNER, "/全部标签")
    assert "已为" in await say(OWNER, f"/备注 {people[CUSTOMER]} 喜欢绿茶")
    assert "共 1 位联系人符合" in await say(OWNER, "/查找 标签:VIP")


async def test_note_keeps_the_text_and_the_author(redis, say, people):
    await say(OWNER, f"/note {people[CUSTOMER]} prefers SF   express")
    [note] = await contacts.notes_of(redis, CUSTOMER)
    assert (note.author, note.text) == (OWNER, "prefers SF   express")


async def test_find_counts_and_lists(redis, say, people):
    await say(OWNER, f"/tag {people[CUSTOMER]} VIP")
    await say(OWNER, f"/tag {people[STAFF]} VIP 黑名单")
    reply = await say(OWNER, "/find tag:VIP -tag:黑名单 channel:wechat")
    assert reply.startswith("1 contacts match") and CUSTOMER in reply and STAFF not in reply
    assert (await say(OWNER, "/find channel:wechat")).startswith("1 contacts match")
    assert "Cannot read that segment" in await say(OWNER, "/find spend>lots")
    assert "Usage: /find" in await say(OWNER, "/find")


async def test_contact_card_shows_everything(redis, say, people):
    await say(OWNER, f"/tag {people[CUSTOMER]} VIP")
    await say(OWNER, f"/note {people[CUSTOMER]} call after 6pm")
    await say(OWNER, f"/order add {people[CUSTOMER]} tea-250g 2")
    await say(OWNER, "/order O10000001 paid")
    await optouts.opt_out(redis, CUSTOMER, FIXED_NOW, [OptOutCategory.MARKETING])
    await contacts.mark_unreachable(redis, CUSTOMER, "unfollowed")
    card = await say(OWNER, f"/contact {CUSTOMER}")
    for expected in (
        people[CUSTOMER],
        "Channel: wechat · unreachable (unfollowed)",
        "First seen 2026-11-23 18:00",  # FIXED_NOW in Asia/Shanghai
        "Tags: VIP",
        "Opt-outs: marketing",
        "Paid orders: 1 · lifetime spend ¥118.00",
        "O10000001 paid ¥118.00",
        "call after 6pm",
    ):
        assert expected in card
    assert "No contact C999" in await say(OWNER, "/contact C999")


async def test_contact_sections_hook_adds_open_tickets(redis, settings, make_message):
    async def tickets(contact_id, call):
        return f"Open tickets for {contact_id}: T1"

    console = build_console(contact_sections=[tickets])
    dispatcher = make_dispatcher(redis, settings, responders=[console, fallback])
    await dispatcher.dispatch(make_message("hi", contact=CUSTOMER))
    result = await dispatcher.dispatch(
        make_message(
            "/contact C1", contact=OWNER, kind=MessageKind.COMMAND, command="contact", payload="C1"
        )
    )
    assert "Open tickets for wechat:oCUST: T1" in result.replies[0].text


async def test_reply_reference_hook_names_the_contact(redis, settings, make_message):
    async def replied_to(message, ctx):
        return CUSTOMER if message.event_key == "reply:42" else None

    dispatcher = make_dispatcher(
        redis, settings, responders=[build_console(reply_lookup=replied_to), fallback]
    )
    await dispatcher.dispatch(make_message("hi", contact=CUSTOMER))
    result = await dispatcher.dispatch(
        make_message(
            "/tag VIP",
            contact=OWNER,
            kind=MessageKind.COMMAND,
            command="tag",
            payload="VIP",
            event_key="reply:42",
            language_hint="en",
        )
    )
    assert "tagged: VIP" in result.replies[0].text
    assert await owner_tags(redis, CUSTOMER) == {"VIP"}


async def test_orders_from_chat(redis, say, people):
    reply = await say(OWNER, f"/order add {people[CUSTOMER]} tea-250g 2")
    assert "Order O10000001 recorded: unpaid ¥118.00" in reply
    assert "shipped" in await say(OWNER, "/order O10000001 shipped SF SF123")
    order = await orders.get(redis, "O10000001")
    assert (order.status, order.carrier, order.tracking_no) == ("shipped", "SF", "SF123")
    assert "unchanged" in await say(OWNER, "/order O10000001 shipped SF SF123")
    assert "cannot go from shipped to paid" in await say(OWNER, "/order O10000001 paid")
    card = await say(OWNER, "/order O10000001")
    assert "tea-250g" in card and "SF SF123" in card and "unpaid" in card
    assert "price" in await say(OWNER, f"/order add {people[CUSTOMER]} no-such-sku")
    assert "¥10.00" in await say(OWNER, f"/order add {people[CUSTOMER]} no-such-sku 2 5")
    assert "No order X9" in await say(OWNER, "/order X9 paid")
    assert "已签收" in await say(OWNER, "/订单 O10000001 签收")
    assert "Usage: /order" in await say(OWNER, "/order O10000001 flying")


async def test_order_events_go_to_the_listeners(redis, settings, make_message):
    events = []

    async def listen(event):
        events.append(event)

    dispatcher = make_dispatcher(
        redis, settings, responders=[build_console(order_listeners=[listen])]
    )
    await dispatcher.dispatch(make_message("hi", contact=CUSTOMER))

    async def command(text):
        name, args = parse_command(text)
        message = make_message(
            text, contact=OWNER, kind=MessageKind.COMMAND, command=name, payload=args
        )
        await dispatcher.dispatch(message)

    await command("/order add C1 tea-250g")
    await command("/order O10000001 paid")
    await command("/order O10000001 paid")
    assert [(e.previous_status, e.status, e.source) for e in events] == [
        (None, "unpaid", "chat"),
        ("unpaid", "paid", "chat"),
    ]


async def test_staff_may_work_but_not_manage_staff(redis, say, people):
    assert "tagged: VIP" in await say(STAFF, f"/tag {people[CUSTOMER]} VIP")
    assert "recorded" in await say(STAFF, f"/order add {people[CUSTOMER]} teapot")
    assert "Only an owner may use /staff" in await say(STAFF, f"/staff add {CUSTOMER}")
    assert not await staff.is_staff(redis, CUSTOMER)
    assert "Only an owner" in await say(STAFF, "/audit")
    staff_help = await say(STAFF, "/help")
    assert "/tag" in staff_help and "/staff" not in staff_help and "/claim" not in staff_help
    owner_help = await say(OWNER, "/help")
    assert "/staff" in owner_help and "/audit" in owner_help


async def test_owner_manages_staff(redis, say, people):
    assert "is now staff" in await say(OWNER, f"/staff add {people[CUSTOMER]}")
    assert await staff.is_staff(redis, CUSTOMER)
    assert "tagged" in await say(CUSTOMER, f"/tag {people[OWNER]} boss")
    assert CUSTOMER in await say(OWNER, "/staff list")
    assert "no longer staff" in await say(OWNER, f"/staff del {CUSTOMER}")
    assert await say(CUSTOMER, f"/tag {people[OWNER]} x") == FALLBACK_EN
    assert "is not staff" in await say(OWNER, f"/staff del {CUSTOMER}")
    assert "Usage: /staff" in await say(OWNER, "/staff promote C1")


async def test_every_action_is_audited(redis, say, people):
    await say(OWNER, f"/tag {people[CUSTOMER]} VIP")
    await say(STAFF, "/staff add C1")
    entries = await audit.recent(redis)
    assert [(e.actor, e.action, e.target, e.detail) for e in entries] == [
        (STAFF, "staff", "", "denied"),
        (OWNER, "tag", CUSTOMER, f"{people[CUSTOMER]} VIP"),
    ]
    assert entries[1].at == FIXED_NOW
    assert "/tag wechat:oCUST" in await say(OWNER, "/audit")


async def test_unknown_command_from_owner_is_answered_but_start_passes_through(say, people):
    assert "There is no /frobnicate command" in await say(OWNER, "/frobnicate")
    assert "welcome" in (await say(OWNER, "/start")).lower()


@pytest.fixture
def ownerless_say(redis, settings, make_message):
    """``say`` for a shop with no configured owner."""
    dispatcher = make_dispatcher(redis, settings.model_copy(update={"owners": ()}))

    async def send(contact: str, text: str) -> str:
        return await send_command(dispatcher, make_message, contact, text)

    return send


async def test_claim_code_makes_an_owner_once(redis, ownerless_say, people):
    say = ownerless_say
    code = await staff.new_claim_code(redis)
    assert await say(CUSTOMER, "/claim not-the-code") == FALLBACK_EN
    assert "you are now an owner" in await say(CUSTOMER, f"/claim {code}")
    assert "tagged" in await say(CUSTOMER, f"/tag {people[STAFF]} helper")
    assert await say(STAFF, f"/claim {code}") != "", "staff is told nothing useful"
    assert not await staff.redeem_claim_code(redis, code, STAFF), "the code is spent"
    assert await staff.claimed_owners(redis) == [CUSTOMER]
    assert "already an owner" in await say(CUSTOMER, "/claim anything")


async def test_claims_are_audited_without_the_code(redis, ownerless_say, people):
    code = await staff.new_claim_code(redis)
    await ownerless_say(CUSTOMER, "/claim not-the-code")
    await ownerless_say(STAFF, f"/claim {code}")
    entries = await audit.recent(redis)
    assert [(e.actor, e.action, e.detail) for e in entries[:2]] == [
        (STAFF, "claim", ""),
        (CUSTOMER, "claim", "refused"),
    ]
    assert all(code not in f"{e.target} {e.detail}" for e in entries)
    assert all("not-the-code" not in e.detail for e in entries)


async def test_a_new_code_is_refused_once_someone_claimed(redis, ownerless_say, people):
    first = await staff.new_claim_code(redis)
    await ownerless_say(STAFF, f"/claim {first}")
    second = await staff.new_claim_code(redis)  # e.g. left from an older process
    assert await ownerless_say(CUSTOMER, f"/claim {second}") == FALLBACK_EN
    assert await staff.claimed_owners(redis) == [STAFF]


async def test_claim_is_refused_when_owners_are_configured(redis, say, people):
    code = await staff.new_claim_code(redis)
    assert await say(CUSTOMER, f"/claim {code}") == FALLBACK_EN
    assert await staff.claimed_owners(redis) == []
    [entry] = [e for e in await audit.recent(redis) if e.action == "claim"]
    assert (entry.actor, entry.detail) == (CUSTOMER, "refused")


async def test_extra_commands_get_help_roles_and_audit(redis, settings, make_message):
    async def ping(call):
        call.ctx.reply("pong")

    console = build_console(extra=[Command("ping", ping, "help_help", aliases=("乒",))])
    dispatcher = make_dispatcher(redis, settings, responders=[console, fallback])
    message = make_message("/乒", contact=OWNER, kind=MessageKind.COMMAND, command="乒", payload="")
    result = await dispatcher.dispatch(message)
    assert result.replies[0].text == "pong"
    assert (await audit.recent(redis))[0].action == "ping"
