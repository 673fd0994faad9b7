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


# --- telegram ---


def sent_message(contact_id: str, idempotency_key: str) -> str:
    """String with a TTL: an outbound message with this idempotency key is being or was sent."""
    return f"{_contact_scope(contact_id)}:sent:{idempotency_key}"
