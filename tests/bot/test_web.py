"""The web app's health check."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from bot.web import health_route
from storage.redis import create_client


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
