"""The web app's health check, and the gate that refuses work while stopping or Redis is away."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.gate import Gate, RefuseWhileClosed
from bot.web import health_route
from storage.redis import create_client
from storage.supervisor import Health


async def _get_health(redis) -> httpx.Response:
    app = Starlette(routes=[health_route(redis)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        return await client.get("/healthz")


async def test_healthz_is_200_with_redis(redis):
    response = await _get_health(redis)
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_healthz_is_503_without_redis(tmp_path):
    unreachable = create_client(f"unix://{tmp_path / 'nothing.sock'}")
    try:
        response = await _get_health(unreachable)
    finally:
        await unreachable.aclose()
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert "nothing.sock" not in response.text and str(tmp_path) not in response.text


async def test_healthz_is_503_while_the_supervisor_finds_redis_down(redis):
    health = Health()
    health.mark_down("Connection refused")
    app = Starlette(routes=[health_route(redis, Gate(health))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        down = await c.get("/healthz")
        health.mark_up()
        up = await c.get("/healthz")
    assert down.status_code == 503 and "Connection refused" not in down.text
    assert up.status_code == 200


async def _echo(request):
    return PlainTextResponse("taken")


@pytest.mark.parametrize("closing", ["stopping", "redis down"])
async def test_a_closed_gate_refuses_work_with_503_but_answers_healthz(redis, closing):
    gate = Gate(Health())
    app = Starlette(
        routes=[health_route(redis, gate), Route("/wechat", _echo, methods=["POST"])],
        middleware=[Middleware(RefuseWhileClosed, gate=gate)],
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
        assert (await c.post("/wechat")).text == "taken"
        if closing == "stopping":
            gate.close()
        else:
            gate.health.mark_down("Connection refused")
        refused = await c.post("/wechat")
        health = await c.get("/healthz")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert health.status_code == 503
