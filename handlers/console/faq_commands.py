"""``/faq list|show|add|edit|del|unanswered|answer``: edit the knowledge base from chat.

Every change rewrites the knowledge base file (the source of truth), so it
survives a restart and reaches every bot process. Every customer sees these
answers, so staff may only read them unless ``SHOPBOT_STAFF_EDIT_FAQ`` is on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from handlers.console.framework import Call, Command, Refusal
from handlers.faq.knowledge import FaqEntry, KnowledgeBase, KnowledgeBaseError, answer_for
from handlers.faq.store import KnowledgeStore
from storage import unanswered
from storage.staff import Role

UNANSWERED_SHOWN = 10
Action = Callable[[Call, KnowledgeStore, KnowledgeBase, str], Awaitable[None]]


async def _list(call: Call, store: KnowledgeStore, kb: KnowledgeBase, rest: str) -> None:
    lines = [f"{entry.id}: {entry.questions[0]}" for entry in kb]
    call.reply("console_faq_list", count=len(lines), entries="\n".join(lines))


async def _show(call: Call, store: KnowledgeStore, kb: KnowledgeBase, rest: str) -> None:
    entry = _entry(kb, rest.strip())
    call.reply(
        "console_faq_entry",
        id=entry.id,
        questions="\n".join(f"- {q}" for q in entry.questions),
        answer=answer_for(entry, call.language),
        tags=", ".join(entry.tags) or call.render("console_none"),
    )


async def _add(call: Call, store: KnowledgeStore, kb: KnowledgeBase, rest: str) -> None:
    entry_id, _, body = rest.strip().partition(" ")
    questions, sep, answer = body.partition("=")
    phrasings = tuple(q.strip() for q in questions.split(";") if q.strip())
    if not entry_id or not sep or not phrasings or not answer.strip():
        raise call.usage()
    if entry_id in kb:
        raise Refusal("console_faq_exists", id=entry_id)
    await _save(call, store, kb.with_entry(FaqEntry(entry_id, phrasings, answer.strip())))
    call.reply("console_faq_saved", id=entry_id)


async def _edit(call: Call, store: KnowledgeStore, kb: KnowledgeBase, rest: str) -> None:
    entry_id, _, change = rest.strip().partition(" ")
    entry = _entry(kb, entry_id)
    change = change.strip()
    match change[:1], change[1:].strip():
        case "=", answer if answer:
            edited = replace(entry, answer=answer)
        case "+", question if question:
            edited = replace(entry, questions=(*entry.questions, question))
        case _:
            raise call.usage()
    await _save(call, store, kb.with_entry(edited))
    call.reply("console_faq_saved", id=entry.id)


async def _delete(call: Call, store: KnowledgeStore, kb: KnowledgeBase, rest: str) -> None:
    entry = _entry(kb, rest.strip())
    await _save(call, store, kb.without_entry(entry.id))
    call.reply("console_faq_deleted", id=entry.id)


async def _unanswered(call: Call, store: KnowledgeStore, kb: KnowledgeBase, rest: str) -> None:
    questions = await unanswered.recent(call.ctx.redis, UNANSWERED_SHOWN)
    if not questions:
        call.reply("console_faq_no_unanswered")
        return
    lines = [f"{n}. {q.text} ({q.contact_id}, {call.when(q.asked_at)})"
             for n, q in enumerate(questions, start=1)]  # fmt: skip
    call.reply("console_faq_unanswered", questions="\n".join(lines))


async def _answer(call: Call, store: KnowledgeStore, kb: KnowledgeBase, rest: str) -> None:
    number, _, answer = rest.strip().partition(" ")
    questions = await unanswered.recent(call.ctx.redis, UNANSWERED_SHOWN)
    if not number.isdigit() or not answer.strip() or not 1 <= int(number) <= len(questions):
        raise call.usage()
    question = questions[int(number) - 1]
    entry_id = f"owner-{int(question.asked_at.timestamp())}-{number}"
    await _save(call, store, kb.with_entry(FaqEntry(entry_id, (question.text,), answer.strip())))
    call.reply("console_faq_saved", id=entry_id)


ACTIONS: dict[str, Action] = {
    "list": _list,
    "show": _show,
    "add": _add,
    "edit": _edit,
    "del": _delete,
    "unanswered": _unanswered,
    "answer": _answer,
}


CHANGES = frozenset({"add", "edit", "del", "answer"})
"""The actions that change what customers are told."""


def _check_may_change(call: Call, verb: str) -> None:
    """Staff change answers only when an owner allowed it (``SHOPBOT_STAFF_EDIT_FAQ``)."""
    if verb in CHANGES and call.ctx.role is not Role.OWNER and not call.ctx.settings.staff_edit_faq:
        raise Refusal("console_owners_only", command=f"faq {verb}")


def _entry(kb: KnowledgeBase, entry_id: str) -> FaqEntry:
    entry = kb.get(entry_id)
    if entry is None:
        raise Refusal("console_faq_missing", id=entry_id)
    return entry


async def _save(call: Call, store: KnowledgeStore, kb: KnowledgeBase) -> None:
    try:
        await store.save(kb)
    except KnowledgeBaseError as exc:
        raise Refusal("console_faq_invalid", error=str(exc)) from None


def faq_commands(store: KnowledgeStore) -> tuple[Command, ...]:
    """The ``/faq`` command, editing ``store``."""

    async def faq(call: Call) -> None:
        verb, _, rest = call.args.strip().partition(" ")
        action = ACTIONS.get(verb.lower())
        if action is None:
            raise call.usage()
        _check_may_change(call, verb.lower())
        kb, _ = await store.current()
        await action(call, store, kb, rest)

    return (Command("faq", faq, "help_faq", aliases=("问答",)),)
