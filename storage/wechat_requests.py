"""Signed plaintext-mode WeChat URLs, each bound to the one body it was first used with.

A plaintext ``signature`` covers the token, ``timestamp`` and ``nonce`` but not
the body, so whoever sees a signed URL could post any body with it while the
timestamp is fresh. The first use binds the URL to a digest of its body: the
same body again is a retry (the dispatcher's dedupe answers it once), another
body is a forgery.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from storage import keys

_BIND = """
local bound = redis.call('GET', KEYS[1])
if bound then return bound == ARGV[1] and 1 or 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


async def bind(redis: Redis, timestamp: str, nonce: str, body: bytes, ttl_s: int) -> bool:
    """True when the URL (``timestamp``, ``nonce``) is new or was used with this very body."""
    nonce_digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    body_digest = hashlib.sha256(body).hexdigest()
    key = keys.wechat_signed_request(timestamp, nonce_digest)
    return bool(await redis.eval(_BIND, 1, key, body_digest, ttl_s))
