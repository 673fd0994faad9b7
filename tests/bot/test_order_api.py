"""POST /api/orders: good, repeated, bad and unauthorised payloads, through the Starlette app."""

from __future__ import annotations

import json

import httpx
import pytest
from support import FIXED_NOW, make_dispatcher

from bot.api import order_api_routes
from bot.app import Runtime
from bot.bodies import MAX_JSON_BODY_BYTES
from bot.delivery import Delivery
from bot.web import build_web_app
from config.i18n import default_templates
from handlers.orders import OrderEvents
from handlers.pipeline import default_pipeline
from storage import audit, contacts, orders
from storage.redis import create_client

KEY = "s3cret-key"
BODY = {
    "id": "A1001",
    "contact": "wechat:oXXXX",
    "status": "shipped",
    "items": [{"sku": "tea-250g", "name": "Tea 250g", "qty": 2, "price": 59.0}],
    "carrier": "SF",
    "tracking_no": "SF1234567890",
}


@pytest.fixture
def events():
    return OrderEvents()


@pytest.fixture
async def client(redis, settings, events):
    configured = settings.model_copy(update={"api_key": KEY})
    runtime = Runtime(
        configured,
        redis,
        default_templates(),
        make_dispatcher(redis, configured),
        Delivery({}),
        default_pipeline(configured),
        events,
    )
    transport = httpx.ASGITransport(app=build_web_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        yield http


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_good_order_is_recorded_once(redis, client, events):
    seen = []

    async def listen(event):
        seen.append(event.status)

    events.subscribe(listen)
    first = await client.post("/api/orders", json=BODY, headers=auth())
    again = await client.post("/api/orders", json=BODY, headers=auth())
    assert first.status_code == 200 and first.json()["changed"] is True
    assert again.status_code == 200 and again.json()["changed"] is False
    assert seen == ["shipped"]
    order = await orders.get(redis, "A1001")
    assert (order.amount, order.tracking_no, order.contact_id) == (
        118.0,
        "SF1234567890",
        "wechat:oXXXX",
    )
    assert await contacts.get(redis, "wechat:oXXXX") is not None, "the contact now exists"
    [entry] = await audit.recent(redis)
    assert (entry.actor, entry.target) == ("api", "wechat:oXXXX")


async def test_status_update_needs_only_the_id(redis, client):
    await client.post("/api/orders", json=BODY, headers=auth())
    response = await client.post(
        "/api/orders", json={"id": "A1001", "status": "delivered"}, headers=auth()
    )
    assert response.json()["status"] == "delivered"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "id": ""}, "id"),
        ({**BODY, "contact": "oXXXX"}, "contact"),
        ({**BODY, "status": "lost"}, "status"),
        ({**BODY, "items": []}, "items"),
        ({**BODY, "items": [{"sku": "tea-250g", "qty": 0}]}, "items[0].qty"),
        ({**BODY, "items": [{"sku": "x", "qty": 1}]}, "items[0].price"),
        ({**BODY, "items": [{"qty": 1, "price": 3}]}, "items[0].sku"),
        ({**BODY, "colour": "red"}, "colour"),
        ({**BODY, "placed_at": "yesterday"}, "placed_at"),
        ({"id": "NEW1", "status": "paid"}, "contact"),
        ([1, 2], "body"),
    ],
)
async def test_bad_payload_is_422_naming_the_field(client, body, field):
    response = await client.post("/api/orders", json=body, headers=auth())
    assert response.status_code == 422
    assert response.json()["field"] == field


async def test_bad_transition_is_422_on_status(client):
    await client.post("/api/orders", json=BODY, headers=auth())
    response = await client.post("/api/orders", json={**BODY, "status": "unpaid"}, headers=auth())
    assert response.status_code == 422 and response.json()["field"] == "status"


async def test_invalid_json_is_422(client):
    response = await client.post("/api/orders", content=b"{nope", headers=auth())
    assert response.status_code == 422 and response.json()["field"] == "body"


@pytest.mark.parametrize("headers", [{}, auth("wrong"), {"Authorization": KEY}])
async def test_missing_or_wrong_key_is_401(redis, client, headers):
    response = await client.post("/api/orders", json=BODY, headers=headers)
    assert response.status_code == 401
    assert await orders.get(redis, "A1001") is None


async def test_no_key_configured_means_no_api(redis, settings):
    assert settings.api_key is None
    assert order_api_routes(redis, settings, (), lambda: FIXED_NOW) == []


def _with_raw(field: str, raw: str) -> bytes:
    """BODY as JSON text with one value written verbatim (json.dumps cannot write 1e999)."""
    marker = "__RAW__"
    items = [{**BODY["items"][0], field: marker}] if field in ("qty", "price") else BODY["items"]
    body = {**BODY, "items": items} | ({field: marker} if field == "amount" else {})
    return json.dumps(body).replace(f'"{marker}"', raw).encode()


@pytest.mark.parametrize("field", ["qty", "price", "amount"])
@pytest.mark.parametrize(
    "raw", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9" * 30, "1" * 5000, "1e300"]
)
async def test_numbers_that_do_not_fit_are_422_never_500(redis, client, field, raw):
    response = await client.post("/api/orders", content=_with_raw(field, raw), headers=auth())
    assert response.status_code == 422 and response.json()["field"] == "body"
    assert await orders.get(redis, "A1001") is None


async def test_deeply_nested_json_is_422(client):
    body = b"[" * 100_000 + b"]" * 100_000
    response = await client.post("/api/orders", content=body, headers=auth())
    assert response.status_code == 422


async def test_a_body_over_1_mib_is_413(redis, client):
    padded = json.dumps({**BODY, "note": "x" * MAX_JSON_BODY_BYTES}).encode()
    response = await client.post("/api/orders", content=padded, headers=auth())
    assert response.status_code == 413
    assert await orders.get(redis, "A1001") is None


async def test_a_streamed_body_over_1_mib_is_413_before_it_is_all_read(client):
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(64):
            sent += 1
            yield b" " * (MAX_JSON_BODY_BYTES // 8)

    response = await client.post("/api/orders", content=chunks(), headers=auth())
    assert response.status_code == 413
    assert sent < 64, "the rest of the body was never read"


async def test_redis_unavailable_is_503_to_retry_never_500(settings, tmp_path):
    unreachable = create_client(f"unix://{tmp_path / 'nothing.sock'}")
    configured = settings.model_copy(update={"api_key": KEY})
    runtime = Runtime(
        configured,
        unreachable,
        default_templates(),
        make_dispatcher(unreachable, configured),
        Delivery({}),
        default_pipeline(configured),
    )
    transport = httpx.ASGITransport(app=build_web_app(runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            response = await http.post("/api/orders", json=BODY, headers=auth())
    finally:
        await unreachable.aclose()
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json() == {"error": "storage unavailable, retry later"}
