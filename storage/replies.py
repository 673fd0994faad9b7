"""Redis replies and hash fields, typed as our clients see them.

Every client the project builds decodes replies (``decode_responses=True`` in
:func:`storage.redis.create_client` and :mod:`storage.connect`), so a string in a reply is
a ``str``. redis-py's annotations cannot say so: its client is not generic over decoding,
so it types a reply string ``bytes | str``, a hash ``dict[bytes | str, bytes | str]``, and a
command whose shape depends on an option (``ZRANGE`` with or without ``WITHSCORES``) as
the union of both shapes. On the way in, it wants hash fields as a ``Mapping`` (or
``dict``) keyed by every encodable type, which our ``dict[str, str]`` is not: a mapping
is invariant in its key.

So a storage module reads each reply through one of these helpers, where it awaits it::

    name = maybe_text(await redis.hget(key, "name"))
    profile = text_map(await redis.hgetall(key))
    ids = texts(await redis.zrange(key, 0, -1))

and writes a hash built beforehand with ``mapping=hash_fields(fields)`` (a dict literal
written in the call needs nothing: mypy types it from the parameter). Each helper checks
what it narrows (one ``isinstance`` per value, small next to the round trip), so a client
built without decoding fails at its first reply with :class:`UndecodedReply` instead of
silently comparing ``bytes`` with ``str``. Replies of Lua scripts and pipelines, which redis-py
types ``Any`` (mypy cannot flag them), go through the same helpers where a module reads
them as text.

Why this way: a ``cast`` or ``# type: ignore`` at each call would be unchecked and
repeated by every new module; a ``Protocol`` of the commands we use is not satisfied by
the real client (its declared return types are wider), so it would need a cast wherever a
client is built and a new annotation in every caller; a wrapper client would be a second
API to learn on top of redis-py and its pipelines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from redis.typing import EncodableT, FieldT

Scalar = str | int | float
"""What we write into Redis: a hash value, a script argument."""


class UndecodedReply(TypeError):
    """A reply held something other than a decoded string: the client does not decode."""


def text(reply: object) -> str:
    """A string reply (``GET``, ``HGET`` ... of a value that must be there)."""
    if isinstance(reply, str):
        return reply
    raise UndecodedReply(f"expected a decoded string reply, got {type(reply).__name__}")


def maybe_text(reply: object) -> str | None:
    """A string reply, or None when Redis answered nil (a missing key or field)."""
    return None if reply is None else text(reply)


def texts(reply: Iterable[object]) -> list[str]:
    """A reply of strings (``ZRANGE``, ``LRANGE``, ``HKEYS``, ``SMEMBERS`` ...), in its order."""
    return [text(item) for item in reply]


def maybe_texts(reply: Iterable[object]) -> list[str | None]:
    """A reply of strings and nils (``HMGET``, ``MGET``), in its order."""
    return [maybe_text(item) for item in reply]


def text_set(reply: Iterable[object]) -> set[str]:
    """A set reply (``SMEMBERS``)."""
    return {text(item) for item in reply}


def text_map(reply: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """A hash reply (``HGETALL``, a stream entry's fields); empty when the key is missing."""
    return {text(field): text(value) for field, value in reply.items()}


def scored(reply: Iterable[object]) -> list[tuple[str, float]]:
    """A ``WITHSCORES`` reply: (member, score) pairs, in its order."""
    pairs = []
    for item in reply:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise UndecodedReply(f"expected a (member, score) pair, got {type(item).__name__}")
        member, score = item
        pairs.append((text(member), float(score)))
    return pairs


def stream_entries(
    reply: Iterable[tuple[object, object]] | None,
) -> list[tuple[str, dict[str, str]]]:
    """A stream range (``XRANGE``, ``XREVRANGE``): (entry id, fields) pairs, in its order."""
    return [(text(entry_id), _text_fields(values)) for entry_id, values in reply or ()]


def _text_fields(values: object) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise UndecodedReply(f"expected a stream entry's fields, got {type(values).__name__}")
    return text_map(values)


def hash_fields(values: Mapping[str, Scalar]) -> dict[FieldT, EncodableT]:
    """Hash (or stream entry) fields to write, typed as ``HSET``/``XADD`` take them."""
    return dict(values.items())
