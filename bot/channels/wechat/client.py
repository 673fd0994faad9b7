"""The WeChat API: wechatpy's sync client in a thread, its token cached in Redis.

wechatpy hard-codes ``https://api.weixin.qq.com/cgi-bin/token`` and keeps the
token in its own session object. Here the base URL is a setting (tests point it
at a local fake), and the token lives in Redis (:mod:`storage.wechat_tokens`) so
several processes share one token, sealed (:class:`TokenSeal`) so that Redis never
holds it readable. Each call carries the token in a context variable read by
:attr:`ShopbotWeChatClient.access_token`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
from redis.asyncio import Redis
from wechatpy import WeChatClient
from wechatpy.constants import WeChatErrorCode
from wechatpy.exceptions import WeChatClientException

from bot.channels.wechat.crypto import BadPayload, TokenSeal
from bot.redact import scrub, scrub_error
from storage import wechat_tokens

log = logging.getLogger(__name__)

T = TypeVar("T")
_ACCESS_TOKEN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "wechat_access_token", default=None
)
TOKEN_ERRORS = frozenset(
    {
        WeChatErrorCode.INVALID_CREDENTIAL.value,
        WeChatErrorCode.INVALID_ACCESS_TOKEN.value,
        WeChatErrorCode.EXPIRED_ACCESS_TOKEN.value,
    }
)
OUT_OF_TIME = WeChatErrorCode.OUT_OF_RESPONSE_TIME_LIMIT.value  # 45015
OUT_OF_COUNT = WeChatErrorCode.OUT_OF_RESPONSE_COUNT_LIMIT.value  # 45047
TIMEOUT_S = 10


class WeChatApiError(Exception):
    """WeChat refused a call (``errcode`` set) or could not be reached (``errcode`` None).

    ``uncertain``: the request went out but no answer came in time, so WeChat may
    have carried it out.

    The text is scrubbed: the failing URL carries the AppSecret or the access token.
    """

    def __init__(self, errcode: int | None, errmsg: str, *, uncertain: bool = False) -> None:
        errmsg = scrub(errmsg)
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.uncertain = uncertain


class ShopbotWeChatClient(WeChatClient):  # type: ignore[misc]  # wechatpy has no types
    """wechatpy's client on a configurable base URL, with the token supplied per call."""

    def __init__(
        self, app_id: str, secret: str, api_base_url: str, timeout_s: float = TIMEOUT_S
    ) -> None:
        super().__init__(app_id, secret, timeout=timeout_s, auto_retry=False)
        self.API_BASE_URL = f"{api_base_url}cgi-bin/"

    @property
    def access_token(self) -> str:
        """The token of the current call (see :meth:`WeChatApi.call`)."""
        token = _ACCESS_TOKEN.get()
        if token is None:
            # AttributeError, because wechatpy's __new__ probes every attribute with getmembers.
            raise AttributeError("no access token: call the WeChat API through WeChatApi.call")
        return token

    def fetch_access_token(self) -> dict[str, Any]:
        """Fetch a new token from the configured base URL; the caller stores it."""
        response = self._http.get(
            f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""), client=self)
        return result


def _with_token(token: str, operation: Callable[[WeChatClient], T], client: WeChatClient) -> T:
    _ACCESS_TOKEN.set(token)  # in the worker thread's own copy of the context
    return operation(client)


class WeChatApi:
    """Async calls to the WeChat API; a rejected token is refreshed once, never blindly."""

    def __init__(self, client: ShopbotWeChatClient, redis: Redis) -> None:
        self._client = client
        self._redis = redis
        self._seal = TokenSeal(client.appid, client.secret)

    async def call(self, operation: Callable[[WeChatClient], T]) -> T:
        """Run ``operation(client)`` in a thread; raise :class:`WeChatApiError` on failure."""
        token, sealed = await self._token()
        try:
            return await self._run(operation, token)
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeChat rejected the access token (%s); fetching a new one", exc.errcode)
            await wechat_tokens.invalidate(self._redis, self._client.appid, sealed)
            token, _ = await self._token()
            return await self._run(operation, token)

    async def send_text(self, openid: str, text: str) -> None:
        """``message/custom/send`` with a text message."""
        await self.call(lambda client: client.message.send_text(openid, text))

    async def send_media(self, openid: str, kind: str, media_id: str) -> None:
        """``message/custom/send`` with an ``image``, ``voice`` or ``video`` message."""
        senders = {
            "image": lambda client: client.message.send_image(openid, media_id),
            "voice": lambda client: client.message.send_voice(openid, media_id),
            "video": lambda client: client.message.send_video(openid, media_id),
        }
        await self.call(senders[kind])

    async def upload_image(self, path: Path) -> str:
        """``media/upload`` of a picture as temporary media (kept 3 days); its ``media_id``."""

        def upload(client: WeChatClient) -> dict[str, Any]:
            with path.open("rb") as picture:
                uploaded: dict[str, Any] = client.media.upload("image", picture)
            return uploaded

        result = await self.call(upload)
        return str(result["media_id"])

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, Any], url: str | None
    ) -> str:
        """``message/template/send``; returns WeChat's ``msgid``."""
        result = await self.call(
            lambda client: client.message.send_template(openid, template_id, data, url=url)
        )
        return str(result.get("msgid", ""))

    async def _token(self) -> tuple[str, str]:
        """The access token and its sealed form (as stored in Redis)."""
        app_id = self._client.appid
        sealed = await wechat_tokens.get_or_fetch(self._redis, app_id, self._fetch)
        try:
            return self._seal.open(sealed), sealed
        except BadPayload:  # sealed under an earlier AppSecret, or stored by an older version
            await wechat_tokens.invalidate(self._redis, app_id, sealed)
        sealed = await wechat_tokens.get_or_fetch(self._redis, app_id, self._fetch)
        return self._seal.open(sealed), sealed

    async def _fetch(self) -> tuple[str, int]:
        """A new token from WeChat, sealed for Redis."""
        result = await self._run_raw(lambda: self._client.fetch_access_token())
        return self._seal.seal(result["access_token"]), int(result.get("expires_in", 7200))

    async def _run(self, operation: Callable[[WeChatClient], T], token: str) -> T:
        return await self._run_raw(lambda: _with_token(token, operation, self._client))

    async def _run_raw(self, function: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(function)
        except WeChatClientException as exc:
            raise WeChatApiError(exc.errcode, str(exc.errmsg)) from exc
        except requests.ReadTimeout as exc:
            raise WeChatApiError(None, f"no answer in time: {exc}", uncertain=True) from exc
        except requests.RequestException as exc:
            raise WeChatApiError(None, f"cannot reach WeChat: {scrub_error(exc)}") from exc
