"""The Telegram channel: webhook, long polling, reachability, deep links, groups, menus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from fakes.telegram_bot_api import TOKEN
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, ResponseError
from starlette.applications import Starlette
from support import FIXED_NOW, make_dispatcher
from telegram import Bot, Update

from bot.app import open_runtime
from bot.bodies import MAX_JSON_BODY_BYTES
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram.webhook import SECRET_HEADER
from bot.dispatcher import DispatchResult
from bot.messages import (
    ContactRef,
    DeliveryError,
    InboundMessage,
    MessageKind,
    OutboundMessage,
    Refused,
)
from bot.roles import Roles
from config.i18n import default_templates
from config.settings import Settings
from handlers.platform_events import PlatformEvents
from storage import contacts, keys

SECRET = "s3cret-token_1"
OWNER_ID = 1  # the settings fixture's owner is telegram:1


@pytest.fixture
def tg_settings(settings: Settings, fake_bot_api) -> Settings:
    return settings.model_copy(
        update={
            "telegram_token": TOKEN,
            "telegram_base_url": fake_bot_api.base_url,
            "telegram_webhook_secret": SECRET,
        }
    )


def _channel(bot, redis, settings, receive=None, dispatcher=None, **options) -> TelegramChannel:
    dispatcher = dispatcher or make_dispatcher(redis, settings)
    channel = TelegramChannel(
        bot=bot,
        redis=redis,
        settings=settings,
        receive=receive or dispatcher.dispatch,
        roles=Roles(settings),
        templates=default_templates(),
        events=PlatformEvents(redis, dedupe_ttl_s=settings.dedupe_ttl_s),
        clock=lambda: FIXED_NOW,
        **options,
    )
    dispatcher.finish_with(channel.name, channel.finishing)  # as the app does
    return channel


def _update(update_id: int, text: str, *, user: int = 42, chat: dict | None = None) -> dict:
    sender = {"id": user, "is_bot": False, "first_name": "Li", "language_code": "zh-hans"}
    chat = chat or {"id": user, "type": "private", "first_name": "Li"}
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": chat, "from": sender}
    return {"update_id": update_id, "message": message | {"text": text}}


def _client(channel: TelegramChannel) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=Starlette(routes=list(channel.routes())))
    return httpx.AsyncClient(transport=transport, base_url="http://bot")


async def _post(channel, body, secret: str | None = SECRET) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with _client(channel) as client:
        if isinstance(body, dict):
            return await client.post("/telegram", json=body, headers=headers)
        return await client.post("/telegram", content=body, headers=headers)


async def _eventually(condition: Callable[[], bool], deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.02)  # a real server in another thread is working


# --- settings and wiring ---


def test_an_empty_token_means_no_telegram(redis_url, monkeypatch):
    monkeypatch.setenv("SHOPBOT_TELEGRAM_TOKEN", "")
    monkeypatch.setenv("SHOPBOT_TELEGRAM_BASE_URL", "")
    settings = Settings(redis_url=redis_url)
    assert settings.telegram_token is None
    assert settings.telegram_base_url == "https://api.telegram.org/bot"


def test_a_webhook_secret_telegram_would_refuse_is_a_settings_error():
    with pytest.raises(ValueError, match="A-Z, a-z, 0-9"):
        Settings(telegram_webhook_secret="no spaces allowed")


async def test_the_channel_is_registered_only_with_a_token(settings, tg_settings):
    async with open_runtime(settings) as runtime:
        assert "telegram" not in runtime.channels
    async with open_runtime(tg_settings) as runtime:
        assert isinstance(runtime.channels["telegram"], TelegramChannel)


# --- webhook ---


async def test_webhook_answers_a_message_and_dedupes_a_redelivery(
    bot, redis, tg_settings, fake_bot_api
):
    channel = _channel(bot, redis, tg_settings)

    first = await _post(channel, _update(11, "你好"))
    again = await _post(channel, _update(11, "你好"))
    await channel.stop()

    assert (first.status_code, again.status_code) == (200, 200)
    assert len(fake_bot_api.texts_to(42)) == 1
    assert fake_bot_api.texts_to(42)[0].startswith("您好，欢迎光临")
    assert await redis.hlen(keys.outbox()) == 0, "a reply once sent leaves the durable outbox"


@pytest.mark.parametrize("secret", [None, "wrong", "s3cret-token_", "s3cret-token_1x"])
async def test_webhook_without_the_right_secret_is_401_and_nothing_happens(
    bot, redis, tg_settings, fake_bot_api, secret
):
    channel = _channel(bot, redis, tg_settings)

    response = await _post(channel, _update(12, "hello"), secret=secret)
    await channel.stop()

    assert response.status_code == 401
    assert fake_bot_api.delivered == []
    assert await redis.exists(keys.seen_message("telegram", "12")) == 0


async def test_webhook_body_over_1_mib_is_413_and_nothing_happens(bot, redis, tg_settings):
    channel = _channel(bot, redis, tg_settings)
    update = _update(13, "x" * MAX_JSON_BODY_BYTES)
    response = await _post(channel, update)
    assert response.status_code == 413
    assert await redis.dbsize() == 0


async def test_webhook_streamed_body_over_1_mib_is_413_before_it_is_all_read(
    bot, redis, tg_settings
):
    channel = _channel(bot, redis, tg_settings)
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(64):
            sent += 1
            yield b" " * (MAX_JSON_BODY_BYTES // 8)

    response = await _post(channel, chunks())
    assert response.status_code == 413 and sent < 64


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"update_id": "x"}', b"\xff\xfe"])
async def test_webhook_with_a_malformed_body_is_400(bot, redis, tg_settings, body):
    channel = _channel(bot, redis, tg_settings)
    response = await _post(channel, body)
    assert response.status_code == 400


async def test_webhook_acknowledges_before_slow_work_ends_and_stop_waits_for_it(
    bot, redis, tg_settings, fake_bot_api
):
    dispatcher = make_dispatcher(redis, tg_settings)
    release = asyncio.Event()

    async def slow_receive(message: InboundMessage) -> DispatchResult:
        await release.wait()
        return await dispatcher.dispatch(message)

    channel = _channel(
        bot, redis, tg_settings, receive=slow_receive, dispatcher=dispatcher, ack_wait_s=0.05
    )
    response = await _post(channel, _update(13, "hello"))
    assert response.status_code == 200 and fake_bot_api.delivered == []

    release.set()
    await channel.stop()
    assert fake_bot_api.texts_to(42)[0].startswith("Hello, welcome to")


@pytest.mark.parametrize(
    "error",
    [
        RedisConnectionError("redis is down"),
        ReadOnlyError("You can't write against a read only replica."),
        ResponseError("OOM command not allowed when used memory > 'maxmemory'."),
    ],
)
async def test_webhook_answers_503_when_redis_is_down_so_telegram_redelivers(
    bot, redis, tg_settings, fake_bot_api, error
):
    """Any Redis error, not only a lost connection (issue 14)."""
    dispatcher = make_dispatcher(redis, tg_settings)
    outages = [error]

    async def flaky_receive(message: InboundMessage) -> DispatchResult:
        if outages:
            raise outages.pop()
        return await dispatcher.dispatch(message)

    channel = _channel(bot, redis, tg_settings, receive=flaky_receive, dispatcher=dispatcher)
    down = await _post(channel, _update(14, "hello"))
    redelivered = await _post(channel, _update(14, "hello"))
    await channel.stop()

    assert (down.status_code, redelivered.status_code) == (503, 200)
    assert len(fake_bot_api.texts_to(42)) == 1


# --- long polling ---


async def test_polling_answers_and_confirms_updates(bot, redis, tg_settings, fake_bot_api):
    channel = _channel(bot, redis, tg_settings, poller_timeout_s=1)
    await channel.start()
    fake_bot_api.push_update(_update(21, "hello", user=43))
    fake_bot_api.push_update(_update(22, "你好", user=44))

    await _eventually(lambda: len(fake_bot_api.delivered) == 2)
    await channel.stop()

    assert fake_bot_api.texts_to(43)[0].startswith("Hello, welcome to")
    assert fake_bot_api.texts_to(44)[0].startswith("您好，欢迎光临")
    assert fake_bot_api.confirmed_offset == 23, "stop() confirms what was handled"
    assert fake_bot_api.calls_to("deleteWebhook"), "polling clears any old webhook"


async def test_polling_does_not_confirm_an_update_redis_could_not_take(
    bot, redis, tg_settings, fake_bot_api
):
    dispatcher = make_dispatcher(redis, tg_settings)
    outages = [RedisConnectionError("redis is down")]
    offsets_seen: list[int] = []

    async def flaky_receive(message: InboundMessage) -> DispatchResult:
        offsets_seen.append(fake_bot_api.confirmed_offset)
        if outages:
            raise outages.pop()
        return await dispatcher.dispatch(message)

    channel = _channel(
        bot, redis, tg_settings, receive=flaky_receive, dispatcher=dispatcher, poller_timeout_s=1
    )
    channel.poller.retry = type(channel.poller.retry)(backoff_base_s=0.01)
    await channel.start()
    fake_bot_api.push_update(_update(31, "hello", user=45))

    await _eventually(lambda: len(fake_bot_api.delivered) == 1)
    await channel.stop()

    assert len(offsets_seen) == 2, "the same update was fetched again"
    assert fake_bot_api.confirmed_offset == 32
    assert len(fake_bot_api.texts_to(45)) == 1


async def test_start_publishes_the_customer_and_owner_menus(bot, redis, tg_settings, fake_bot_api):
    channel = _channel(bot, redis, tg_settings, poller_timeout_s=1)
    await channel.start()
    await channel.stop()

    calls = fake_bot_api.calls_to("setMyCommands")
    default = [c for c in calls if c["scope"] == {"type": "default"}]
    owner = [c for c in calls if c["scope"] == {"type": "chat", "chat_id": OWNER_ID}]
    assert {c.get("language_code") for c in default} == {None, "zh", "en"}
    assert [cmd["command"] for cmd in default[0]["commands"]] == ["start"]
    assert {"start", "help", "tickets", "reply"} <= {cmd["command"] for cmd in owner[0]["commands"]}
    zh = next(c for c in default if c.get("language_code") == "zh")
    assert zh["commands"][0]["description"] == "开始 / 欢迎"


async def test_webhook_mode_registers_the_webhook_with_its_secret(
    bot, redis, tg_settings, fake_bot_api
):
    settings = tg_settings.model_copy(
        update={"telegram_webhook_url": "https://shop.example/telegram"}
    )
    channel = _channel(bot, redis, settings)
    await channel.start()
    await channel.stop()

    [registered] = fake_bot_api.calls_to("setWebhook")
    assert registered["url"] == "https://shop.example/telegram"
    assert registered["secret_token"] == SECRET
    assert registered["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    assert not fake_bot_api.calls_to("getUpdates")


# --- reachability, deep links, buttons, groups ---


async def test_a_send_the_rules_refuse_raises_refused_and_calls_nothing(
    bot, redis, tg_settings, fake_bot_api
):
    """Issue 18: the send checks the channel's rules itself (a follow-up skips on it)."""
    channel = _channel(bot, redis, tg_settings)
    await contacts.touch(redis, "telegram:76", FIXED_NOW)
    await contacts.mark_unreachable(redis, "telegram:76", "telegram: bot was blocked by the user")

    with pytest.raises(Refused, match="blocked by the user"):
        await channel.send(OutboundMessage(ContactRef("telegram", "76"), "Your order shipped"))
    await channel.stop()

    assert fake_bot_api.calls_to("sendMessage") == []


async def test_a_blocked_user_becomes_unreachable_until_they_write_again(
    bot, redis, tg_settings, fake_bot_api
):
    channel = _channel(bot, redis, tg_settings)
    await channel.accept(_parse(bot, _update(41, "hello", user=77)))
    await channel.wait_idle()
    fake_bot_api.blocked.add("77")
    notice = OutboundMessage(ContactRef("telegram", "77"), "Your order shipped")

    with pytest.raises(DeliveryError):
        await channel.send(notice)

    profile = await contacts.get(redis, "telegram:77")
    assert profile.unreachable == "telegram: bot was blocked by the user"
    verdict = await channel.check(notice)
    assert not verdict.allowed and "blocked" in verdict.reason
    with pytest.raises(DeliveryError, match="blocked"):
        await channel.send(notice)
    assert len(fake_bot_api.calls_to("sendMessage")) == 2, "nothing more was tried"

    fake_bot_api.blocked.clear()
    await channel.accept(_parse(bot, _update(42, "hello again", user=77)))
    assert (await contacts.get(redis, "telegram:77")).unreachable is None
    assert (await channel.check(notice)).allowed
    await channel.stop()


async def test_start_with_a_payload_records_the_source_and_greets(
    bot, redis, tg_settings, fake_bot_api
):
    channel = _channel(bot, redis, tg_settings)
    await channel.accept(_parse(bot, _update(51, "/start xhs_spring", user=78)))
    await channel.stop()

    assert (await contacts.get(redis, "telegram:78")).source == "xhs_spring"
    assert fake_bot_api.texts_to(78)[0].startswith("您好，欢迎光临")


async def test_a_button_press_is_answered_and_dispatched_as_a_button(
    bot, redis, tg_settings, fake_bot_api
):
    pressed: list[InboundMessage] = []

    async def record(message: InboundMessage, ctx) -> bool:
        pressed.append(message)
        ctx.reply(f"you chose {message.payload}")
        return True

    dispatcher = make_dispatcher(redis, tg_settings, responders=[record])
    channel = _channel(bot, redis, tg_settings, dispatcher=dispatcher)
    query = {
        "id": "cb-9",
        "from": {"id": 79, "is_bot": False, "first_name": "Amy"},
        "chat_instance": "c",
        "data": "track:A1",
        "message": {"message_id": 3, "date": 1, "chat": {"id": 79, "type": "private"}},
    }
    await channel.accept(_parse(bot, {"update_id": 61, "callback_query": query}))
    await channel.stop()

    assert [(m.kind, m.payload) for m in pressed] == [(MessageKind.BUTTON, "track:A1")]
    assert fake_bot_api.calls_to("answerCallbackQuery")[0]["callback_query_id"] == "cb-9"
    assert fake_bot_api.texts_to(79) == ["you chose track:A1"]


async def test_in_groups_only_owner_commands_are_taken(bot, redis, tg_settings, fake_bot_api):
    seen: list[InboundMessage] = []

    async def record(message: InboundMessage, ctx) -> bool:
        seen.append(message)
        ctx.reply("ok")
        return True

    dispatcher = make_dispatcher(redis, tg_settings, responders=[record])
    channel = _channel(bot, redis, tg_settings, dispatcher=dispatcher)
    group = {"id": -100900, "type": "supergroup", "title": "Staff"}
    for update in (
        _update(71, "hello everyone", user=80, chat=group),
        _update(72, "/tickets", user=80, chat=group),
        _update(73, "hello", user=OWNER_ID, chat=group),
        _update(74, "/tickets@SomeOtherBot", user=OWNER_ID, chat=group),
        _update(75, "/tickets@ShopTestBot open", user=OWNER_ID, chat=group),
    ):
        await channel.accept(_parse(bot, update))
    await channel.stop()

    assert [(m.id, m.command, m.payload) for m in seen] == [("75", "tickets", "open")]
    assert fake_bot_api.texts_to(-100900) == ["ok"]
    assert await contacts.get(redis, "telegram:80") is None, "dropped before dispatch"


async def test_blocking_the_bot_marks_the_contact_unreachable_at_once(bot, redis, tg_settings):
    channel = _channel(bot, redis, tg_settings)
    await channel.accept(_parse(bot, _update(81, "hi", user=82)))
    await channel.wait_idle()
    member = {
        "user": {"id": 4242, "is_bot": True, "first_name": "Shop"},
        "status": "kicked",
        "until_date": 0,
    }
    change = {
        "chat": {"id": 82, "type": "private"},
        "from": {"id": 82, "is_bot": False, "first_name": "Bo"},
        "date": 1,
        "old_chat_member": member | {"status": "member"},
        "new_chat_member": member,
    }
    await channel.accept(_parse(bot, {"update_id": 82, "my_chat_member": change}))
    await channel.stop()

    assert (await contacts.get(redis, "telegram:82")).unreachable == "telegram: blocked the bot"


async def test_a_redis_error_on_a_block_leaves_the_update_to_be_taken_again(
    bot, redis, tg_settings
):
    channel = _channel(bot, redis, tg_settings)
    contact_key = keys.contact("telegram:83")
    await redis.set(contact_key, "not a hash")  # the real server refuses HSET: WRONGTYPE
    member = {"user": {"id": 4242, "is_bot": True, "first_name": "Shop"}, "status": "kicked"}
    change = {
        "chat": {"id": 83, "type": "private"},
        "from": {"id": 83, "is_bot": False, "first_name": "Cy"},
        "date": 1,
        "old_chat_member": member | {"status": "member"},
        "new_chat_member": member | {"until_date": 0},
    }
    update = {"update_id": 83, "my_chat_member": change}

    with pytest.raises(ResponseError):
        await channel.accept(_parse(bot, update))
    await redis.delete(contact_key)
    await channel.accept(_parse(bot, update))  # the poller takes it again
    await channel.stop()

    assert await redis.hget(contact_key, "unreachable") == "telegram: blocked the bot"


def _parse(bot, data: dict) -> Update:
    return Update.de_json(data, bot)


# --- several processes on one Redis ---


async def test_only_one_process_polls_and_another_takes_over_when_it_dies(
    bot, redis, tg_settings, fake_bot_api
):
    first = _channel(bot, redis, tg_settings, poller_timeout_s=1)
    second = _channel(bot, redis, tg_settings, poller_timeout_s=1)
    for channel in (first, second):
        channel.poller.lease.ttl_s = 0.3  # lapses fast once its holder is gone
    await first.start()
    await _eventually(lambda: first.poller.leading)
    await second.start()
    fake_bot_api.push_update(_update(31, "hello", user=45))
    await _eventually(lambda: len(fake_bot_api.delivered) == 1)
    assert not second.poller.leading, "one getUpdates caller per bot"

    first._polling.cancel()  # the process dies: no release, the lease lapses
    await asyncio.gather(first._polling, return_exceptions=True)
    first._polling = None
    await _eventually(lambda: second.poller.leading)
    fake_bot_api.push_update(_update(32, "hello again", user=46))
    await _eventually(lambda: len(fake_bot_api.delivered) == 2)
    await second.stop()
    await first.stop()
    assert await redis.get(second.poller.lease.key) is None, "a clean stop gives the lease up"


async def test_a_polling_process_leaves_a_live_webhook_alone(bot, redis, tg_settings, fake_bot_api):
    own_bot = Bot(TOKEN, base_url=fake_bot_api.base_url)  # another process: its own client
    hooked = _channel(
        own_bot, redis, tg_settings.model_copy(update={"telegram_webhook_url": "https://shop/tg"})
    )
    polling = _channel(bot, redis, tg_settings, poller_timeout_s=1)
    await hooked.start()
    await polling.start()
    fake_bot_api.push_update(_update(33, "hello", user=47))

    assert not fake_bot_api.calls_to("deleteWebhook")
    assert not fake_bot_api.calls_to("getUpdates"), "it would only get 409 Conflict"
    await hooked.stop()  # the webhook's process leaves: the webhook is stale now
    assert await redis.get(hooked.webhook_lease.key) is None
    polling.poller.pause = _no_wait(polling.poller.pause)
    await _eventually(lambda: len(fake_bot_api.delivered) == 1)
    assert fake_bot_api.calls_to("deleteWebhook"), "a webhook nobody serves is cleared"
    await polling.stop()


def _no_wait(pause):
    """The standby pause, shortened: the test need not wait a third of the lease."""

    async def short(seconds: float) -> bool:
        return await pause(min(seconds, 0.05))

    return short
