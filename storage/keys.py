"""Every Redis key the bot uses, built in one place under one prefix.

Keys that belong to one contact carry the contact id as a hash tag
(``{telegram:42}``) so that scripts touching several of them stay on one slot
of a Redis Cluster. Global indexes (tag members, sequences) have no tag and
are never used in the same script as a contact's keys.
"""

from __future__ import annotations

PREFIX = "shopbot"


def _contact_scope(contact_id: str) -> str:
    return f"{PREFIX}:c:{{{contact_id}}}"


def contact(contact_id: str) -> str:
    """Hash: the contact's profile fields."""
    return f"{_contact_scope(contact_id)}:profile"


def contact_tags(contact_id: str) -> str:
    """Hash: tag -> JSON ``{"source": "auto"|"owner", "at": epoch}``."""
    return f"{_contact_scope(contact_id)}:tags"


def contact_notes(contact_id: str) -> str:
    """List of JSON notes ``{"at", "author", "text"}``, oldest first."""
    return f"{_contact_scope(contact_id)}:notes"


def mailbox(contact_id: str) -> str:
    """List of JSON messages waiting for a terminal contact to open the chat."""
    return f"{_contact_scope(contact_id)}:mailbox"


def contact_optouts(contact_id: str) -> str:
    """Hash: opt-out category -> JSON ``{"channel", "at"}``."""
    return f"{_contact_scope(contact_id)}:optouts"


def optout_members(category: str) -> str:
    """Set of contact ids opted out of ``category``."""
    return f"{PREFIX}:optout:{category}"


def tag_members(tag: str) -> str:
    """Set of contact ids carrying ``tag`` (the reverse index)."""
    return f"{PREFIX}:tag:{tag}"


def all_tags() -> str:
    """Set of every tag name in use."""
    return f"{PREFIX}:tags"


def contacts_by_last_seen() -> str:
    """Sorted set: contact id scored by last-seen epoch seconds."""
    return f"{PREFIX}:contacts:last_seen"


def contacts_by_first_seen() -> str:
    """Sorted set: contact id scored by first-seen epoch seconds."""
    return f"{PREFIX}:contacts:first_seen"


def contact_sequence() -> str:
    """Counter behind the short contact ids (``C1``, ``C2``, ...)."""
    return f"{PREFIX}:seq:contact"


def short_ids() -> str:
    """Hash: short id (``C12``) -> contact id."""
    return f"{PREFIX}:contacts:short_ids"


def seen_message(channel: str, message_id: str) -> str:
    """String with a TTL: this inbound message was already taken by a dispatcher."""
    return f"{PREFIX}:seen:{channel}:{message_id}"


def unanswered() -> str:
    """List of JSON questions the bot could not answer, newest last."""
    return f"{PREFIX}:unanswered"


# --- followups ---
# The queue keys share the hash tag {fu}: every script on the queue touches only keys
# in that one slot (scripts name per-item and per-contact keys from the prefixes below,
# which lie in the slot; the first declared key routes the call). Purchase history,
# which no queue script touches, uses _contact_scope.
_FOLLOWUPS = f"{PREFIX}:{{fu}}"


def followups_due() -> str:
    """Sorted set: pending follow-up id -> due epoch seconds."""
    return f"{_FOLLOWUPS}:due"


def followups_leased() -> str:
    """Sorted set: claimed (in-flight) follow-up id -> lease expiry epoch seconds."""
    return f"{_FOLLOWUPS}:leased"


def followups_dead() -> str:
    """List of follow-up ids that failed too often (the dead letters), newest first."""
    return f"{_FOLLOWUPS}:dead"


def followup_prefix() -> str:
    """The prefix of every follow-up hash; scripts append the id."""
    return f"{_FOLLOWUPS}:i:"


def followup(followup_id: str) -> str:
    """Hash: one follow-up (short fields, see ``storage.followups``)."""
    return f"{followup_prefix()}{followup_id}"


def followup_sent(followup_id: str) -> str:
    """String with a TTL: the claim token that committed to sending this follow-up."""
    return f"{followup_sent_prefix()}{followup_id}"


def followups_of_contact(contact_id: str) -> str:
    """Sorted set: the contact's follow-up ids (pending and recently finished) -> due epoch."""
    return f"{followups_of_contact_prefix()}{contact_id}"


def followup_sent_prefix() -> str:
    """The prefix of the sent markers; scripts append the id."""
    return f"{_FOLLOWUPS}:sent:"


def followups_of_contact_prefix() -> str:
    """The prefix of the per-contact indexes; scripts append the contact id."""
    return f"{_FOLLOWUPS}:c:"


def marketing_sent_prefix() -> str:
    """The prefix of the weekly-cap sets; scripts append the contact id."""
    return f"{_FOLLOWUPS}:cap:"


def marketing_sent(contact_id: str) -> str:
    """Sorted set: marketing follow-up ids sent to the contact -> sent epoch (the weekly cap).

    In the queue's slot, so the cap is reserved in the same script as the sent marker.
    """
    return f"{marketing_sent_prefix()}{contact_id}"


def purchases(contact_id: str, sku: str) -> str:
    """Sorted set: order ids in which the contact bought ``sku`` -> purchase epoch."""
    return f"{_contact_scope(contact_id)}:bought:{sku}"


def repurchase_off(contact_id: str) -> str:
    """Hash: sku -> epoch the contact said "no thanks" to reminders for it."""
    return f"{_contact_scope(contact_id)}:repurchase_off"
