"""WeChat settings and configuration files."""

from __future__ import annotations

import pytest

from config.settings import Settings
from config.wechat import WeChatConfigError, load_menu, load_templates


def test_empty_strings_are_unset(monkeypatch):
    for name in ("TOKEN", "APP_ID", "APP_SECRET", "AES_KEY", "API_BASE_URL"):
        monkeypatch.setenv(f"SHOPBOT_WECHAT_{name}", "")
    settings = Settings()
    assert settings.wechat_token is None and settings.wechat_aes_key is None
    assert settings.wechat_api_base_url == "https://api.weixin.qq.com/"
    assert settings.wechat_reply_budget_ms == 4000


def test_base_url_gets_a_trailing_slash(monkeypatch):
    monkeypatch.setenv("SHOPBOT_WECHAT_API_BASE_URL", "http://127.0.0.1:9999")
    assert Settings().wechat_api_base_url == "http://127.0.0.1:9999/"


def test_aes_key_must_be_43_characters(monkeypatch):
    monkeypatch.setenv("SHOPBOT_WECHAT_AES_KEY", "short")
    with pytest.raises(ValueError, match="43"):
        Settings()


def test_default_menu_and_no_templates():
    assert load_menu()["HUMAN"] == "人工"
    assert load_templates() == {}


def test_templates_render_their_fields(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "templates:\n  transactional:\n    template_id: T1\n"
        "    fields: {first: '{shop_name}', keyword1: '{text}'}\n",
        encoding="utf-8",
    )
    spec = load_templates(path)["transactional"]
    assert spec.render(text="shipped", shop_name="Shop", date="") == {
        "first": {"value": "Shop"},
        "keyword1": {"value": "shipped"},
    }


@pytest.mark.parametrize(
    "body",
    [
        "templates:\n  marketing:\n    template_id: T1\n",
        "templates:\n  transactional:\n    fields: {a: b}\n",
        "templates:\n  transactional:\n    template_id: T1\n    fields: {a: '{unknown}'}\n",
    ],
)
def test_bad_template_files_are_refused(tmp_path, body):
    path = tmp_path / "t.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(WeChatConfigError):
        load_templates(path)
