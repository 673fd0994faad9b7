"""Issue 13: secret settings never show in errors, reprs or the start banner."""

from __future__ import annotations

import pytest

from bot.commands.run import banner
from config.settings import Settings, SettingsError, load_settings

AES_KEY_TOO_SHORT = "tooShortAesKey-7e1d"
REDIS_PASSWORD = "hunter2-redis-pass"


def test_a_bad_secret_setting_is_named_but_not_echoed(monkeypatch):
    monkeypatch.setenv("SHOPBOT_WECHAT_AES_KEY", AES_KEY_TOO_SHORT)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SHOPBOT_WECHAT_AES_KEY" in str(error.value) and "43" in str(error.value)
    assert AES_KEY_TOO_SHORT not in str(error.value)


def test_a_redis_password_is_masked_in_errors(monkeypatch):
    monkeypatch.setenv("SHOPBOT_REDIS_URL", f"redis://:{REDIS_PASSWORD}@db:6379/0")
    monkeypatch.setenv("SHOPBOT_HTTP_PORT", "0")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SHOPBOT_HTTP_PORT" in str(error.value)
    assert REDIS_PASSWORD not in str(error.value)


def test_a_bad_plain_setting_still_shows_its_value(monkeypatch):
    monkeypatch.setenv("SHOPBOT_LANGUAGE", "klingon")
    with pytest.raises(SettingsError, match="klingon"):
        load_settings()


def test_repr_and_banner_hold_no_secret():
    settings = Settings(
        redis_url=f"redis://shop:{REDIS_PASSWORD}@db:6379/0",
        api_key="api-key-0123456789",
        telegram_token="123456:telegram-token-abcdef",
        wechat_app_secret="AppSecret-5f3c9a7e1d",
    )
    shown = repr(settings) + banner(settings)
    for secret in (REDIS_PASSWORD, *settings.secret_values):
        assert secret not in shown
    assert "redis://shop:***@db:6379/0" in banner(settings)
    assert REDIS_PASSWORD in settings.secret_values
