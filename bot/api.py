"""``POST /api/orders``: shop systems push orders in, through the same path as chat and imports.

Enabled only when ``SHOPBOT_API_KEY`` is set; callers send
``Authorization: Bearer <key>``. Answers 200 with the order's state (``changed``
false for a repeat), 401 for a missing or wrong key, 422 with ``field`` naming
what is wrong (bad JSON, ``NaN``, ``Infinity`` or a number too big to use, a bad
value, a forbidden status move), 413 for a body over 1 MiB, 503 with ``Retry-After``
while Redis is unavailable or the bot is stopping (the caller repeats the call; a repeat
is harmless).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.bodies import MAX_JSON_BODY_BYTES, BadJson, BodyTooLarge, parse_json, read_limited
from bot.gate import RETRY_AFTER_S
from config.catalog import Catalog, default_catalog
from config.settings import Settings
from handlers.orders import Recorded, record_order
from storage import audit
from storage.orders import OrderError, OrderListener
from storage.timestamps import Clock

API_ACTOR = "api"

log = logging.getLogger(__name__)


def order_api_routes(
    redis: Redis,
    settings: Settings,
    listeners: Iterable[OrderListener],
    clock: Clock,
    catalog: Catalog | None = None,
) -> list[BaseRoute]:
    """The order API's routes; none when no API key is configured."""
    if not settings.api_key:
        return []
    expected = settings.api_key.encode()
    shop_catalog = catalog or default_catalog()

    async def post_order(request: Request) -> JSONResponse:
        if not _authorised(request, expected):
            return JSONResponse(
                {"error": "missing or wrong API key"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            body = parse_json(await read_limited(request, MAX_JSON_BODY_BYTES))
        except BodyTooLarge:
            return JSONResponse({"error": "body too large", "field": "body"}, status_code=413)
        except BadJson as exc:
            return _unprocessable("body", str(exc))
        now = clock()
        try:
            recorded = await record_order(
                redis,
                body,
                now=now,
                catalog=shop_catalog,
                language=settings.language,
                tz=settings.tz,
                source=API_ACTOR,
                listeners=listeners,
            )
            if recorded.changed:
                detail = f"{recorded.order.id} {recorded.order.status}"
                await audit.record(
                    redis, API_ACTOR, "order", recorded.order.contact_id, detail, now
                )
        except OrderError as exc:
            return _unprocessable(exc.field, exc.message)
        except RedisError as exc:
            log.warning("order API: storage unavailable, caller asked to retry: %s", exc)
            return JSONResponse(
                {"error": "storage unavailable, retry later"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return JSONResponse(_summary(recorded))

    return [Route("/api/orders", post_order, methods=["POST"])]


def _authorised(request: Request, expected: bytes) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), expected)


def _unprocessable(field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=422)


def _summary(recorded: Recorded) -> dict[str, Any]:
    order = recorded.order
    return {
        "id": order.id,
        "contact": order.contact_id,
        "status": order.status.value,
        "amount": order.amount,
        "changed": recorded.changed,
        "event": recorded.event is not None,
    }
