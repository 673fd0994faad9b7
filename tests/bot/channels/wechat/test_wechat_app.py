"""The WeChat channel in the assembled app: registered only when configured."""

from __future__ import annotations

import time

import httpx
import xmltodict
from fakes.wechat_messages import TOKEN, signed_params, text_xml

from bot.app import open_runtime
from bot.web import build_web_app


async def test_channel_is_off_without_a_token(settings):
    async with open_runtime(settings) as runtime:
        assert "wechat" not in runtime.channels
        assert all(route.path != "/wechat" for route in build_web_app(runtime).routes)


async def test_configured_channel_answers_on_the_web_app(wechat_settings, redis):
    now = str(int(time.time()))  # the assembled app runs on the real clock
    async with open_runtime(wechat_settings) as runtime:
        channel = runtime.channels["wechat"]
        transport = httpx.ASGITransport(app=build_web_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            response = await http.post(
                "/wechat",
                params=signed_params(TOKEN, timestamp=now),
                content=text_xml("oZed", "hello", 5),
            )
        await channel.stop()
    assert xmltodict.parse(response.text)["xml"]["ToUserName"] == "oZed"
