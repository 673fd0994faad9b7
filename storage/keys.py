"""Every Redis key the bot uses, built in one place under one prefix.

Keys that belong to one contact carry the contact id as a hash tag
(``{telegram:42}``) so that scripts touching several of them stay on one slot
of a Redis Cluster. Global indexes (tag members, sequences) have no tag and
are never used in the same script as a contact's keys, except by the follow-up
claim script, which reads profiles and opt-out sets with the queue (it needs one node).
"""

from __future__ import annotations

from collections.abc import Callable

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


def sent_message(contact_id: str, idempotency_key: str) -> str:
    """String with a TTL: an outbound message with this key is being or was sent (any channel).

    ``sending`` while a send holds the claim, then ``sent`` (see :mod:`storage.send_claims`).
    """
    return f"{_contact_scope(contact_id)}:sent:{idempotency_key}"


def unanswered() -> str:
    """List of JSON questions the bot could not answer, newest last."""
    return f"{PREFIX}:unanswered"


# --- customer service ---


def pending_order_question(contact_id: str) -> str:
    """String with a TTL: JSON of an order question waiting for its order number."""
    return f"{_contact_scope(contact_id)}:pending_order_question"


def contact_activity(contact_id: str) -> str:
    """Sorted set: the contact's recent message ids scored by epoch (frequent-writer window)."""
    return f"{_contact_scope(contact_id)}:activity"


def contact_tickets(contact_id: str) -> str:
    """Sorted set: the contact's ticket ids scored by creation epoch."""
    return f"{_contact_scope(contact_id)}:tickets"


def contact_handoff(contact_id: str) -> str:
    """Hash: the contact's handoff to a person (started, last activity, ticket)."""
    return f"{_contact_scope(contact_id)}:handoff"


def handoffs_by_activity() -> str:
    """Sorted set: contact ids in handoff scored by their last activity epoch."""
    return f"{PREFIX}:handoff:active"


def ticket_sequence() -> str:
    """Counter behind the ticket ids (``T1001``, ``T1002``, ...)."""
    return f"{PREFIX}:seq:ticket"


# Ticket keys share the ``{tickets}`` hash tag: a status change updates the hash and
# the status indexes in one script.
def ticket(ticket_id: str) -> str:
    """Hash: one ticket's fields."""
    return f"{PREFIX}:{{tickets}}:{ticket_id}"


def tickets_all() -> str:
    """Sorted set: every ticket id scored by creation epoch."""
    return f"{PREFIX}:{{tickets}}:all"


def tickets_with_status(status: str) -> str:
    """Sorted set: ticket ids in ``status`` (open, answered, closed) scored by creation epoch."""
    return f"{PREFIX}:{{tickets}}:status:{status}"


# --- owner console ---
# Roles keys share the ``{roles}`` hash tag: the claim script touches two of them.


def staff() -> str:
    """Set of contact ids an owner made staff."""
    return f"{PREFIX}:{{roles}}:staff"


def claimed_owners() -> str:
    """Set of contact ids that became owners with the one-time claim code."""
    return f"{PREFIX}:{{roles}}:owners"


def claim_code() -> str:
    """String: SHA-256 hex of the pending one-time claim code (absent once used)."""
    return f"{PREFIX}:{{roles}}:claim_code"


def audit_log() -> str:
    """Stream of owner actions: ``actor``, ``action``, ``target``, ``detail``, ``at``."""
    return f"{PREFIX}:audit"


def contacts_by_channel(channel: str) -> str:
    """Set of contact ids on ``channel`` (segment atom ``channel:``)."""
    return f"{PREFIX}:contacts:channel:{channel}"


def contacts_by_language(language: str) -> str:
    """Set of contact ids whose language is ``language`` (segment atom ``lang:``)."""
    return f"{PREFIX}:contacts:lang:{language}"


def segment_scratch(token: str, step: int) -> str:
    """Temporary key (with a TTL) for one step of a segment evaluation."""
    return f"{PREFIX}:segment:tmp:{token}:{step}"


# --- orders ---


def order(order_id: str) -> str:
    """String: the order as JSON."""
    return f"{PREFIX}:order:{order_id}"


def order_sequence() -> str:
    """Counter behind order ids made in chat (``O1``, ``O2``, ...)."""
    return f"{PREFIX}:seq:order"


def contact_orders(contact_id: str) -> str:
    """Sorted set: the contact's order ids scored by when they were placed."""
    return f"{_contact_scope(contact_id)}:orders"


def contact_order_ledger(contact_id: str) -> str:
    """Hash: order id -> JSON ``{"amount", "at"}`` for the orders that count as bought."""
    return f"{_contact_scope(contact_id)}:order_ledger"


def contacts_by_spend() -> str:
    """Sorted set: contact id scored by lifetime spend (counted orders only)."""
    return f"{PREFIX}:contacts:spend"


def contacts_by_order_count() -> str:
    """Sorted set: contact id scored by the number of counted orders."""
    return f"{PREFIX}:contacts:order_count"


def contacts_by_last_order() -> str:
    """Sorted set: contact id scored by the epoch of their latest counted order."""
    return f"{PREFIX}:contacts:last_order"


def contacts_by_first_order() -> str:
    """Sorted set: contact id scored by the epoch of their first counted order."""
    return f"{PREFIX}:contacts:first_order"


# --- wechat ---
def wechat_window(contact_id: str) -> str:
    """Hash: the customer-service window, ``expires_at`` (epoch) and ``remaining`` sends."""
    return f"{_contact_scope(contact_id)}:wechat:window"


def wechat_answer(contact_id: str, message_id: str) -> str:
    """String with a TTL: the passive answer every copy of one inbound message returns."""
    return f"{_contact_scope(contact_id)}:wechat:answer:{message_id}"


def wechat_events(contact_id: str) -> str:
    """List of JSON WeChat events (menu views, scans, template results), newest first."""
    return f"{_contact_scope(contact_id)}:wechat:events"


def wechat_buttons(contact_id: str) -> str:
    """String with a TTL: JSON ``[[label, payload], ...]`` last offered as numbered text."""
    return f"{_contact_scope(contact_id)}:wechat:buttons"


def send_decisions(contact_id: str) -> str:
    """List of JSON send decisions (allowed or not, how, why), newest first."""
    return f"{_contact_scope(contact_id)}:send_decisions"


def telegram_poller(bot_id: str) -> str:
    """String with a TTL: the token of the one process long-polling this Telegram bot."""
    return f"{PREFIX}:telegram:poller:{{{bot_id}}}"


def telegram_webhook_holder(bot_id: str) -> str:
    """String with a TTL: the token of a live process that registered this bot's webhook."""
    return f"{PREFIX}:telegram:webhook:{{{bot_id}}}"


def wechat_access_token(app_id: str) -> str:
    """String with a TTL: the Official Account's access token, shared by every process."""
    return f"{PREFIX}:wechat:token:{{{app_id}}}"


def wechat_access_token_lock(app_id: str) -> str:
    """String with a TTL: held by the one process fetching a new access token."""
    return f"{PREFIX}:wechat:token:{{{app_id}}}:lock"


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
    """Hash: claimed (in-flight) follow-up id -> the token of the claim that holds it.

    A token is the whole second its lease expires, a dot, and the claim's sequence number
    (``followup_claims``) in six digits: unique per claim, so it fences out earlier holders.
    """
    return f"{_FOLLOWUPS}:leased"


def followup_leases() -> str:
    """Sorted set: claim token -> the epoch its lease expires (expired: its items are free)."""
    return f"{_FOLLOWUPS}:leases"


def followup_claims() -> str:
    """Counter: claims made so far (the sequence number in each claim token)."""
    return f"{_FOLLOWUPS}:claims"


def followups_dead() -> str:
    """List of follow-up ids that failed too often (the dead letters), newest first."""
    return f"{_FOLLOWUPS}:dead"


def followups_done() -> str:
    """Sorted set: finished follow-up id -> epoch after which its record is dropped."""
    return f"{_FOLLOWUPS}:done"


def followup_records_prefix() -> str:
    """The prefix of the record buckets (hash: id -> packed item); scripts append the bucket."""
    return f"{_FOLLOWUPS}:r:"


def followup_states_prefix() -> str:
    """The prefix of the state buckets (hash: id -> packed outcome state); same bucket numbers."""
    return f"{_FOLLOWUPS}:s:"


def followups_by_contact_prefix() -> str:
    """The prefix of the contact index buckets (hash: contact -> record bucket numbers)."""
    return f"{_FOLLOWUPS}:c:"


def followup_records(bucket: int) -> str:
    """Hash: the records of the follow-ups whose id hashes to ``bucket``."""
    return f"{followup_records_prefix()}{bucket}"


def followup_states(bucket: int) -> str:
    """Hash: the outcome states of the follow-ups whose id hashes to ``bucket``."""
    return f"{followup_states_prefix()}{bucket}"


def marketing_sent_prefix() -> str:
    """The prefix of the weekly-cap sets; scripts append the contact id."""
    return f"{_FOLLOWUPS}:cap:"


def marketing_sent(contact_id: str) -> str:
    """Sorted set: marketing follow-up ids sent to the contact -> sent epoch (the weekly cap).

    In the queue's slot: the claim script reserves a slot when it claims a marketing item.
    """
    return f"{marketing_sent_prefix()}{contact_id}"


def contact_profile_affixes() -> tuple[str, str]:
    """What goes before and after a contact id in its profile key (for the claim script)."""
    return _affixes(contact)


def contact_optouts_affixes() -> tuple[str, str]:
    """What goes before and after a contact id in its opt-out hash's key (for the claim script)."""
    return _affixes(contact_optouts)


def _affixes(builder: Callable[[str], str]) -> tuple[str, str]:
    before, _, after = builder("\0").partition("\0")
    return before, after


def purchases(contact_id: str, sku: str) -> str:
    """Sorted set: order ids in which the contact bought ``sku`` -> purchase epoch."""
    return f"{_contact_scope(contact_id)}:bought:{sku}"


def repurchase_off(contact_id: str) -> str:
    """Hash: sku -> epoch the contact said "no thanks" to reminders for it."""
    return f"{_contact_scope(contact_id)}:repurchase_off"


# --- campaigns ---


def campaign(campaign_id: str) -> str:
    """Hash: one campaign (definition, status, feeding cursor, frozen results)."""
    return f"{PREFIX}:campaign:{campaign_id}"


def campaigns_all() -> str:
    """Sorted set: every campaign id -> creation epoch."""
    return f"{PREFIX}:campaigns"


def campaign_sequence() -> str:
    """Counter behind campaign ids made in chat (``K1``, ``K2``, ...)."""
    return f"{PREFIX}:seq:campaign"


def campaign_audience(campaign_id: str) -> str:
    """Sorted set: the campaign's recipients, frozen when sending starts (by last seen)."""
    return f"{PREFIX}:campaign:{campaign_id}:audience"


def campaign_slot(campaign_id: str, slot: str) -> str:
    """String with a TTL: taken (SET NX) by the one process that fires a cron slot."""
    return f"{PREFIX}:campaign:{campaign_id}:slot:{slot}"


def campaign_replied(campaign_id: str) -> str:
    """Set: recipients who wrote within 24 hours after their campaign message was sent."""
    return f"{PREFIX}:campaign:{campaign_id}:replied"


def campaign_ordered(campaign_id: str) -> str:
    """Hash: recipient -> amount of the order they placed within 7 days after the message."""
    return f"{PREFIX}:campaign:{campaign_id}:ordered"


# --- membership ---


def contact_membership(contact_id: str) -> str:
    """Hash: the contact's ``tier``, ``tier_at`` (epoch of the last change)."""
    return f"{_contact_scope(contact_id)}:membership"


def tier_members(tier: str) -> str:
    """Set of contact ids holding ``tier`` (segment atom ``tier:``)."""
    return f"{PREFIX}:tier:{tier}"


def members_since() -> str:
    """Sorted set: contact ids at or above the members' tier -> epoch they became members."""
    return f"{PREFIX}:members:since"


def tier_reviews() -> str:
    """Sorted set: contact id -> epoch their rolling-window value next drops (downgrade mode)."""
    return f"{PREFIX}:members:review"


def contacts_by_expected_order() -> str:
    """Sorted set: buyer contact id -> epoch their next order is expected (stage ``at_risk``)."""
    return f"{PREFIX}:contacts:expected_order"


def contacts_by_first_inquiry() -> str:
    """Sorted set: contact id -> epoch of their first question (stage ``prospect``)."""
    return f"{PREFIX}:contacts:first_inquiry"


def orders_by_time() -> str:
    """Sorted set: counted order ids -> epoch placed (statistics)."""
    return f"{PREFIX}:stats:orders"


def tickets_by_close_time() -> str:
    """Sorted set: closed ticket ids -> epoch closed (statistics)."""
    return f"{PREFIX}:stats:tickets_closed"


def daily_counters(day: str) -> str:
    """Hash with a TTL: metric -> count for one day (``2026-11-23``, shop time zone)."""
    return f"{PREFIX}:stats:day:{day}"


def rating_pending(contact_id: str) -> str:
    """String with a TTL: the ref (ticket or order id) a rating was asked for."""
    return f"{_contact_scope(contact_id)}:rating_pending"


def ratings() -> str:
    """Hash: rated ref (ticket or order id) -> JSON ``{"contact", "score", "at"}``."""
    return f"{PREFIX}:ratings"


def ratings_by_time() -> str:
    """Sorted set: rated ref -> epoch rated."""
    return f"{PREFIX}:ratings:by_time"


# --- wechat tags ---


def wechat_tag_ids(app_id: str) -> str:
    """Hash: contact tag name -> the Official Account's user tag id (mirrored tags)."""
    return f"{PREFIX}:wechat:tag_ids:{{{app_id}}}"
