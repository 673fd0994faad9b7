"""Signed plaintext-mode WeChat URLs, each bound to the one body it was first used with.

A plaintext ``signature`` covers the token, ``timestamp`` and ``nonce`` but not
the body, so whoever sees a signed URL could post any body with it while the
timestamp is fresh. The first use binds the URL to a digest of its body: the
same body again is a retry (the dispatcher's dedupe answers it once), another
body is a forgery.
"""

from __future__ import annotations

import hashlib

from redis.asyncio.client import Pipeline

from storage import batch, keys
from storage.batch import Queued

_BIND = """
local bound = redis.call('GET', KEYS[1])
if bound then return bound == ARGV[1] and 1 or 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def queue_bind(pipe: Pipeline, timestamp: str, nonce: str, body: bytes, ttl_s: int) -> Queued[bool]:
    """True when the URL (``timestamp``, ``nonce``) is new or was used with this very body.

    A step (see :mod:`storage.batch`): concurrent requests share one round trip.
    """
    nonce_digest = hashlib.sha256(nonce.encode()).hexdigest()[:32]
    key = keys.wechat_signed_request(timestamp, nonce_digest)
    digest = hashlib.sha256(body).hexdigest()
    return batch.queue(
        pipe, lambda pipe: pipe.eval(_BIND, 1, key, digest, ttl_s), lambda r: bool(r[0])
    )
