"""Every Redis key the bot uses, built in one place under one prefix and one hash tag.

Every key of one shop starts with :func:`scope`, ``shopbot:{shop:<id>}``: the hash tag
``{shop:<id>}`` puts all of a shop's keys in one slot of a Redis/Valkey Cluster, so every
script, ``MULTI`` and ``Z*STORE`` touches one slot, and several shops (deployments with
different ``SHOPBOT_SHOP_ID``) spread over the nodes. New keys must be built from
:func:`scope` (``tests/storage/test_keys.py`` fails for any builder that is not).

The shop id is process-wide: :func:`configure` sets it once at startup
(:func:`storage.connect.connect` does, from the settings), before any key is built; it is
``main`` until then. A module-level setting rather than a scope object passed to every
builder: one process serves one shop, and hundreds of call sites stay as they are.
:func:`using` sets it for a block (tests, the key migration).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PREFIX = "shopbot"
DEFAULT_SHOP = "main"
SHOP_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
"""A shop id: no braces (they would end the hash tag) and nothing a key reader must escape."""

_shop_id = DEFAULT_SHOP


def check_shop_id(shop_id: str) -> str:
    """``shop_id`` unchanged, or :class:`ValueError` saying what a shop id may hold."""
    if not SHOP_ID_PATTERN.match(shop_id):
        raise ValueError(f"shop id {shop_id!r}: 1-64 characters of A-Z, a-z, 0-9, _, . and -")
    return shop_id


def configure(shop_id: str) -> None:
    """Build every key of this process for ``shop_id`` from now on."""
    global _shop_id
    _shop_id = check_shop_id(shop_id)


def shop_id() -> str:
    """The shop whose keys this process builds."""
    return _shop_id


@contextmanager
def using(shop_id: str) -> Iterator[None]:
    """Build keys for ``shop_id`` inside the block, then for the shop configured before."""
    before = _shop_id
    configure(shop_id)
    try:
        yield
    finally:
        configure(before)


def hash_tag() -> str:
    """The shop's hash tag, ``{shop:<id>}``: what Redis Cluster hashes a key by."""
    return f"{{shop:{_shop_id}}}"


def scope() -> str:
    """What every key of the shop starts with: ``shopbot:{shop:<id>}``."""
    return f"{PREFIX}:{hash_tag()}"


def _contact_scope(contact_id: str) -> str:
    return f"{scope()}:c:{contact_id}"


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
    return f"{scope()}:optout:{category}"


def tag_members(tag: str) -> str:
    """Set of contact ids carrying ``tag`` (the reverse index)."""
    return f"{scope()}:tag:{tag}"


def all_tags() -> str:
    """Set of every tag name in use."""
    return f"{scope()}:tags"


def contacts_by_last_seen() -> str:
    """Sorted set: contact id scored by last-seen epoch seconds."""
    return f"{scope()}:contacts:last_seen"


def contacts_by_first_seen() -> str:
    """Sorted set: contact id scored by first-seen epoch seconds."""
    return f"{scope()}:contacts:first_seen"


def contact_sequence() -> str:
    """Counter behind the short contact ids (``C1``, ``C2``, ...)."""
    return f"{scope()}:seq:contact"


def short_ids() -> str:
    """Hash: short id (``C12``) -> contact id."""
    return f"{scope()}:contacts:short_ids"


def seen_message(channel: str, message_id: str) -> str:
    """String with a TTL: this inbound message was already taken by a dispatcher."""
    return f"{scope()}:seen:{channel}:{message_id}"


def sent_message(contact_id: str, idempotency_key: str) -> str:
    """String with a TTL: an outbound message with this key is being or was sent (any channel).

    ``sending|<token>|<deadline>`` while a send holds the claim, then ``sent`` or
    ``uncertain`` (see :mod:`storage.send_claims`).
    """
    return f"{_contact_scope(contact_id)}:sent:{idempotency_key}"


def outbox() -> str:
    """Hash: outbox item id (``<contact> <idempotency key>``) -> JSON message not yet
    settled (see :mod:`storage.outbox`)."""
    return f"{scope()}:outbox"


def outbox_by_time() -> str:
    """Sorted set: outbox item id -> epoch written."""
    return f"{scope()}:outbox:by_time"


def uncertain_sends() -> str:
    """Sorted set: ``contact US idempotency_key`` -> epoch its send was found uncertain."""
    return f"{scope()}:sent:uncertain"


def replication_mark() -> str:
    """Counter bumped by every durable write's ``WAIT`` barrier (:mod:`storage.durability`)."""
    return f"{scope()}:replication_mark"


def unanswered() -> str:
    """List of JSON questions the bot could not answer, newest last."""
    return f"{scope()}:unanswered"


# --- customer service ---


def pending_order_question(contact_id: str) -> str:
    """String with a TTL: JSON of an order question waiting for its order number."""
    return f"{_contact_scope(contact_id)}:pending_order_question"


def contact_follow_invited(contact_id: str) -> str:
    """String: set once the farewell invited the contact to follow the shop (引导关注)."""
    return f"{_contact_scope(contact_id)}:follow_invited"


def contact_last_product(contact_id: str) -> str:
    """String with a TTL: the sku the contact last asked about ("这个茶怎么泡" means it)."""
    return f"{_contact_scope(contact_id)}:last_product"


def contact_activity(contact_id: str) -> str:
    """Sorted set: the contact's recent message ids scored by epoch (frequent-writer window)."""
    return f"{_contact_scope(contact_id)}:activity"


def contact_tickets(contact_id: str) -> str:
    """Sorted set: the contact's ticket ids scored by creation epoch."""
    return f"{_contact_scope(contact_id)}:tickets"


def contact_media(contact_id: str) -> str:
    """List of JSON ``{"kind", "channel", "ref", "at", "ticket", "handoff"}``: media the
    contact sent, newest last, each with the ticket or handoff it was kept on."""
    return f"{_contact_scope(contact_id)}:media"


def contact_handoff(contact_id: str) -> str:
    """Hash: the contact's handoff to a person (started, last activity, ticket)."""
    return f"{_contact_scope(contact_id)}:handoff"


def handoffs_by_activity() -> str:
    """Sorted set: contact ids in handoff scored by their last activity epoch."""
    return f"{scope()}:handoff:active"


def ticket_sequence() -> str:
    """Counter behind the ticket ids (``T1001``, ``T1002``, ...)."""
    return f"{scope()}:seq:ticket"


def ticket(ticket_id: str) -> str:
    """Hash: one ticket's fields."""
    return f"{scope()}:tickets:{ticket_id}"


def tickets_all() -> str:
    """Sorted set: every ticket id scored by creation epoch."""
    return f"{scope()}:tickets:all"


def tickets_with_status(status: str) -> str:
    """Sorted set: ticket ids in ``status`` (open, answered, closed) scored by creation epoch."""
    return f"{scope()}:tickets:status:{status}"


# --- owner console ---


def staff() -> str:
    """Set of contact ids an owner made staff."""
    return f"{scope()}:roles:staff"


def claimed_owners() -> str:
    """Set of contact ids that became owners with the one-time claim code."""
    return f"{scope()}:roles:owners"


def claim_code() -> str:
    """String with a TTL (one hour): SHA-256 hex of the pending claim code (absent once used)."""
    return f"{scope()}:roles:claim_code"


def audit_log() -> str:
    """Stream of owner actions: ``actor``, ``action``, ``target``, ``detail``, ``at``."""
    return f"{scope()}:audit"


def contacts_by_channel(channel: str) -> str:
    """Set of contact ids on ``channel`` (segment atom ``channel:``)."""
    return f"{scope()}:contacts:channel:{channel}"


def contacts_by_language(language: str) -> str:
    """Set of contact ids whose language is ``language`` (segment atom ``lang:``)."""
    return f"{scope()}:contacts:lang:{language}"


def segment_scratch(token: str, step: int) -> str:
    """Temporary key (with a TTL) for one step of a segment evaluation."""
    return f"{scope()}:segment:tmp:{token}:{step}"


# --- orders ---


def order(order_id: str) -> str:
    """String: the order as JSON."""
    return f"{scope()}:order:{order_id}"


def order_events_pending() -> str:
    """Hash: order event id (``<order>:<status>``) -> JSON event not yet handled by every
    listener (see :mod:`storage.order_events`)."""
    return f"{scope()}:order_events:pending"


def order_events_by_time() -> str:
    """Sorted set: pending order event id -> epoch written."""
    return f"{scope()}:order_events:by_time"


def order_events_failures() -> str:
    """Hash: pending order event id -> deliveries that a listener failed."""
    return f"{scope()}:order_events:failures"


def order_event_done(event_id: str) -> str:
    """Set: names of the listeners that handled the pending order event."""
    return f"{scope()}:order_events:done:{event_id}"


def order_sequence() -> str:
    """Counter behind order ids made in chat (``O1``, ``O2``, ...)."""
    return f"{scope()}:seq:order"


def contact_orders(contact_id: str) -> str:
    """Sorted set: the contact's order ids scored by when they were placed."""
    return f"{_contact_scope(contact_id)}:orders"


def contact_order_ledger(contact_id: str) -> str:
    """Hash: order id -> JSON ``{"amount", "at"}`` for the orders that count as bought."""
    return f"{_contact_scope(contact_id)}:order_ledger"


def contacts_by_spend() -> str:
    """Sorted set: contact id scored by lifetime spend (counted orders only)."""
    return f"{scope()}:contacts:spend"


def contacts_by_order_count() -> str:
    """Sorted set: contact id scored by the number of counted orders."""
    return f"{scope()}:contacts:order_count"


def contacts_by_last_order() -> str:
    """Sorted set: contact id scored by the epoch of their latest counted order."""
    return f"{scope()}:contacts:last_order"


def contacts_by_first_order() -> str:
    """Sorted set: contact id scored by the epoch of their first counted order."""
    return f"{scope()}:contacts:first_order"


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


def wechat_signed_request(timestamp: str, nonce_digest: str) -> str:
    """String with a TTL: the body digest a signed plaintext-mode URL was first used with."""
    return f"{scope()}:wechat:signed:{timestamp}:{nonce_digest}"


def telegram_poller(bot_id: str) -> str:
    """String with a TTL: the token of the one process long-polling this Telegram bot."""
    return f"{scope()}:telegram:poller:{bot_id}"


def telegram_webhook_holder(bot_id: str) -> str:
    """String with a TTL: the token of a live process that registered this bot's webhook."""
    return f"{scope()}:telegram:webhook:{bot_id}"


def wechat_access_token(app_id: str) -> str:
    """String with a TTL: the Official Account's access token, shared by every process."""
    return f"{scope()}:wechat:token:{app_id}"


def wechat_access_token_lock(app_id: str) -> str:
    """String with a TTL: held by the one process fetching a new access token."""
    return f"{scope()}:wechat:token:{app_id}:lock"


# --- followups ---
# Queue scripts build per-item and per-contact keys from the prefixes below; they declare
# each prefix among their KEYS, so the server checks that the family lies in their slot.
def _followups() -> str:
    return f"{scope()}:fu"


def followups_due() -> str:
    """Sorted set: pending follow-up id -> due epoch seconds."""
    return f"{_followups()}:due"


def followups_leased() -> str:
    """Hash: claimed (in-flight) follow-up id -> the token of the claim that holds it.

    A token is the whole second its lease expires, a dot, and the claim's sequence number
    (``followup_claims``) in six digits: unique per claim, so it fences out earlier holders.
    """
    return f"{_followups()}:leased"


def followup_leases() -> str:
    """Sorted set: claim token -> the epoch its lease expires (expired: its items are free)."""
    return f"{_followups()}:leases"


def followup_claims() -> str:
    """Counter: claims made so far (the sequence number in each claim token)."""
    return f"{_followups()}:claims"


def followups_dead() -> str:
    """List of follow-up ids that failed too often (the dead letters), newest first."""
    return f"{_followups()}:dead"


def followups_done() -> str:
    """Sorted set: finished follow-up id -> epoch after which its record is dropped."""
    return f"{_followups()}:done"


def followup_records_prefix() -> str:
    """The prefix of the record buckets (hash: id -> packed item); scripts append the bucket."""
    return f"{_followups()}:r:"


def followup_states_prefix() -> str:
    """The prefix of the state buckets (hash: id -> packed outcome state); same bucket numbers."""
    return f"{_followups()}:s:"


def followups_by_contact_prefix() -> str:
    """The prefix of the contact index buckets (hash: contact -> record bucket numbers)."""
    return f"{_followups()}:c:"


def followup_records(bucket: int) -> str:
    """Hash: the records of the follow-ups whose id hashes to ``bucket``."""
    return f"{followup_records_prefix()}{bucket}"


def followup_states(bucket: int) -> str:
    """Hash: the outcome states of the follow-ups whose id hashes to ``bucket``."""
    return f"{followup_states_prefix()}{bucket}"


def marketing_sent_prefix() -> str:
    """The prefix of the weekly-cap sets; scripts append the contact id."""
    return f"{_followups()}:cap:"


def marketing_sent(contact_id: str) -> str:
    """Sorted set: marketing follow-up ids sent to the contact -> sent epoch (the weekly cap).

    The claim script reserves a place in it when it claims a marketing item.
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


def job_lock(job_id: str) -> str:
    """String with a TTL: the token of the one process running scheduled job ``job_id``."""
    return f"{scope()}:job_lock:{job_id}"


# --- campaigns ---


def campaign(campaign_id: str) -> str:
    """Hash: one campaign (definition, status, feeding cursor, frozen results)."""
    return f"{scope()}:campaign:{campaign_id}"


def campaigns_all() -> str:
    """Sorted set: every campaign id -> creation epoch."""
    return f"{scope()}:campaigns"


def campaign_sequence() -> str:
    """Counter behind campaign ids made in chat (``K1``, ``K2``, ...)."""
    return f"{scope()}:seq:campaign"


def campaign_audience(campaign_id: str) -> str:
    """Sorted set: the campaign's recipients, frozen when sending starts (by last seen)."""
    return f"{scope()}:campaign:{campaign_id}:audience"


def campaign_slot(campaign_id: str, slot: str) -> str:
    """String with a TTL: taken (SET NX) by the one process that fires a cron slot."""
    return f"{scope()}:campaign:{campaign_id}:slot:{slot}"


def campaign_replied(campaign_id: str) -> str:
    """Set: recipients who wrote within 24 hours after their campaign message was sent."""
    return f"{scope()}:campaign:{campaign_id}:replied"


def campaign_ordered(campaign_id: str) -> str:
    """Hash: recipient -> amount of the order they placed within 7 days after the message."""
    return f"{scope()}:campaign:{campaign_id}:ordered"


# --- membership ---


def contact_membership(contact_id: str) -> str:
    """Hash: the contact's ``tier``, ``tier_at`` (epoch of the last change)."""
    return f"{_contact_scope(contact_id)}:membership"


def tier_members(tier: str) -> str:
    """Set of contact ids holding ``tier`` (segment atom ``tier:``)."""
    return f"{scope()}:tier:{tier}"


def members_since() -> str:
    """Sorted set: contact ids at or above the members' tier -> epoch they became members."""
    return f"{scope()}:members:since"


def tier_reviews() -> str:
    """Sorted set: contact id -> epoch their rolling-window value next drops (downgrade mode)."""
    return f"{scope()}:members:review"


def contacts_by_expected_order() -> str:
    """Sorted set: buyer contact id -> epoch their next order is expected (stage ``at_risk``)."""
    return f"{scope()}:contacts:expected_order"


def contacts_by_first_inquiry() -> str:
    """Sorted set: contact id -> epoch of their first question (stage ``prospect``)."""
    return f"{scope()}:contacts:first_inquiry"


def orders_by_time() -> str:
    """Sorted set: counted order ids -> epoch placed (statistics)."""
    return f"{scope()}:stats:orders"


def tickets_by_close_time() -> str:
    """Sorted set: closed ticket ids -> epoch closed (statistics)."""
    return f"{scope()}:stats:tickets_closed"


def daily_counters(day: str) -> str:
    """Hash with a TTL: metric -> count for one day (``2026-11-23``, shop time zone)."""
    return f"{scope()}:stats:day:{day}"


def rating_pending(contact_id: str) -> str:
    """String with a TTL: the ref (ticket or order id) a rating was asked for."""
    return f"{_contact_scope(contact_id)}:rating_pending"


def ratings() -> str:
    """Hash: rated ref (ticket or order id) -> JSON ``{"contact", "score", "at"}``."""
    return f"{scope()}:ratings"


def ratings_by_time() -> str:
    """Sorted set: rated ref -> epoch rated."""
    return f"{scope()}:ratings:by_time"


# --- wechat tags ---


def wechat_tag_ids(app_id: str) -> str:
    """Hash: contact tag name -> the Official Account's user tag id (mirrored tags)."""
    return f"{scope()}:wechat:tag_ids:{app_id}"


# --- patterns (SCAN MATCH) and scratch keys of an erasure (storage.erasure) ---


def contact_keys_pattern(escaped_contact_id: str) -> str:
    """Every key of one contact's own (``escaped_contact_id`` glob-escaped by the caller)."""
    return f"{_contact_scope(escaped_contact_id)}:*"


def seen_messages_pattern(channel: str, escaped_external_id: str) -> str:
    """Dedupe markers of messages whose id starts with the contact's platform id (events)."""
    return seen_message(channel, f"{escaped_external_id}:*")


def segment_scratch_pattern() -> str:
    """Every temporary key of a segment evaluation."""
    return f"{scope()}:segment:tmp:*"


def mailboxes_pattern() -> str:
    """Every terminal contact's mailbox."""
    return mailbox("*")


def audit_rewrite() -> str:
    """Stream: the audit log being rewritten by an erasure (renamed over it in one script)."""
    return f"{scope()}:audit:rewrite"
