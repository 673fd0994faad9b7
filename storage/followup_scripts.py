"""Lua scripts of the follow-up queue (``storage.followups``); each runs atomically.

Each script is a file in ``storage/lua/followups/`` headed by its KEYS/ARGV layout, run
after the shared functions of ``lib.lua``; ``storage.followup_codec`` reads their replies.

Layout (why: ``docs/followups.md``, memory). Every script gets the same KEYS: due, leased,
done, dead, claims, leases, then the prefixes of the record, state, contact-index and
weekly-cap keys (``CLAIM`` also the prefixes of contact profiles and opt-out hashes). A
script builds per-item keys from a prefix it declared; every prefix carries the shop's
hash tag, so a cluster refuses a call whose families lie in another slot. The items of a
batch follow in ARGV, many to an argument, and each answer is one string: a client round
trip, an argument and a reply element each cost the client far more than the Lua work per
item.

- ``r:<b>`` record bucket, field id -> *head* ``contact US template US purpose US
  optout US data``; ``data`` is the JSON inline, or ``RS n.h`` when it is kept in n
  chunk fields ``RS h.1`` .. ``RS h.n`` of 64 bytes, ``h`` a handle from the bucket's
  counter field ``RS`` (every value stays within the 64-byte limit of a small hash, so
  the bucket stays a listpack/ziplist, and chunk names stay short).
- ``s:<b>`` state bucket (same ``b``), field id -> ``attempts US state US finished US
  due US reason``, written by an item's outcomes (a retry, a postponement, a skip, a
  cancellation, the dead letter); a claim writes none (its token is the item's value in
  ``leased``), nor does a send (the item's ``done`` score, its finish time, says it).
- ``c:<cb>`` contact index, field contact -> the record buckets holding its items.
- ``leased`` hash, item -> claim token; ``leases`` sorted set, token -> lease expiry.

``b`` and ``cb`` come from SHA-1 of the id / contact (``bucket`` below; the Python
side mirrors it in ``storage.followups.bucket_of``). Finished items stay readable for
the dispatcher's keep time after their ``done`` score (when they finished), dead letters
as long after they died; ``CLAIM`` sweeps a few older ones of each on every call.
"""

from __future__ import annotations

from importlib.resources import files

from redis.commands.core import AsyncScript

from storage.scripts import script

RECORD_BUCKETS = 2048
"""Record and state buckets: ~50-70 fields each at 100,000 pending items (listpack)."""
CONTACT_BUCKETS = 512
"""Contact index buckets: ~40 contacts each at 20,000 contacts."""
SWEEP = 100
"""Expired finished items dropped per ``CLAIM`` call."""


_SOURCES = files("storage") / "lua" / "followups"
_CONSTANTS = {
    "@RECORD_BUCKETS@": str(RECORD_BUCKETS),
    "@CONTACT_BUCKETS@": str(CONTACT_BUCKETS),
    "@SWEEP@": str(SWEEP),
}


def _source(name: str) -> str:
    """The Lua of ``name`` (a file in ``storage/lua/followups``) with its constants filled in."""
    text = (_SOURCES / f"{name}.lua").read_text(encoding="utf-8")
    for placeholder, value in _CONSTANTS.items():
        text = text.replace(placeholder, value)
    return text


def _queue_script(name: str) -> AsyncScript:
    """The queue script ``name``, run after the shared functions of ``lib.lua``."""
    return script(_source("lib") + _source(name))


SCHEDULE_MANY = _queue_script("schedule_many")
CLAIM = _queue_script("claim")
RECORD_MANY = _queue_script("record_many")
CANCEL = _queue_script("cancel")
CANCEL_GROUP = _queue_script("cancel_group")
ROWS = _queue_script("rows")
ROWS_OF_CONTACT = _queue_script("rows_of_contact")
FORGET_CONTACT = _queue_script("forget_contact")
