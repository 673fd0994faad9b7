"""Whether the bot takes new work: not while it is stopping, nor while Redis is away.

Refused work is answered so that its sender retries: HTTP 503 (WeChat and Telegram
redeliver a webhook that did not get a 2xx; API callers retry), and pollers do not
fetch. ``/healthz`` stays open and answers 503 itself.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from storage.supervisor import Health

RETRY_AFTER_S = 5
ALWAYS_OPEN = frozenset({"/healthz"})


class Gate:
    """Open unless the bot is stopping or its Redis is unavailable."""

    def __init__(self, health: Health | None = None) -> None:
        self.health = health or Health()
        self.stopping = False

    def close(self) -> None:
        """The bot is stopping: take no new work from now on."""
        self.stopping = True

    def refusal(self) -> str | None:
        """Why new work is refused now, or None when it is taken."""
        if self.stopping:
            return "stopping"
        if not self.health.up:
            return "storage unavailable"  # the reason names hosts and paths: logged only
        return None


class RefuseWhileClosed:
    """ASGI middleware answering 503 (with ``Retry-After``) while the gate is closed."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or refuse it."""
        reason = self.gate.refusal() if scope["type"] == "http" else None
        if reason is None or scope["path"] in ALWAYS_OPEN:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"error": reason}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
        )
        await response(scope, receive, send)
