"""The HTTP app: health check, the order API, and the routes channels contribute (webhooks)."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot import redact
from bot.api import order_api_routes
from bot.app import Runtime
from bot.gate import Gate, RefuseWhileClosed
from bot.metrics import metrics_route

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 1.0


def health_route(redis: Redis, gate: Gate | None = None) -> Route:
    """``GET /healthz``: 200 when Redis answers, 503 when it does not or the bot is stopping."""
    gate = gate or Gate()

    async def healthz(request: Request) -> JSONResponse:
        if reason := gate.refusal():
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        try:
            await asyncio.wait_for(redis.ping(), timeout=HEALTH_TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as exc:
            # The error text names hosts and socket paths: the log gets it, the caller does not.
            log.warning("health check: Redis unavailable: %s", exc)
            return JSONResponse({"status": "unavailable", "redis": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "redis": "ok"})

    return Route("/healthz", healthz, methods=["GET"])


def build_web_app(runtime: Runtime) -> Starlette:
    """The Starlette app serving the health check and every channel's routes.

    While the runtime's gate is closed (stopping, Redis away) every route but the
    health check answers 503, so platforms and callers retry later.
    """
    redact.install(runtime.settings.secret_values)
    routes: list[BaseRoute] = [
        health_route(runtime.redis, runtime.gate),
        metrics_route(runtime.redis, runtime.settings.metrics_token, runtime.dispatcher.clock),
    ]
    routes.extend(
        order_api_routes(
            runtime.redis, runtime.settings, runtime.order_events, runtime.dispatcher.clock
        )
    )
    for channel in runtime.channels.values():
        routes.extend(channel.routes())
    return Starlette(routes=routes, middleware=[Middleware(RefuseWhileClosed, gate=runtime.gate)])
