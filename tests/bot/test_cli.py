"""``python -m bot`` end to end, in subprocesses: chat, persistence, settings, the service."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest
from support import PROJECT_ROOT, PYTHON, bot_env, free_port


def run_bot(*args: str, stdin: str = "", timeout: float = 60, **env: str):
    return subprocess.run(
        [PYTHON, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
        env=bot_env(**env),
    )


@pytest.fixture
def embedded_env(tmp_path) -> dict[str, str]:
    """No Redis URL: the bot starts its own server in a fresh data folder."""
    return {"SHOPBOT_DATA_DIR": str(tmp_path / "data")}


def test_piped_chat_answers_chinese_and_english_then_exits(embedded_env):
    zh = run_bot("chat", stdin="你好\n", **embedded_env)
    en = run_bot("chat", "--as", "tom", stdin="hello\n", **embedded_env)

    assert zh.returncode == 0, zh.stderr
    assert zh.stdout.startswith("您好，欢迎光临")
    assert en.returncode == 0, en.stderr
    assert en.stdout.startswith("Hello, welcome to")


def test_contact_persists_across_two_chats(embedded_env, tmp_path):
    run_bot("chat", "--as", "amy", stdin="hello\n", **embedded_env)
    second = run_bot("chat", "--as", "amy", stdin="hello\n", **embedded_env)

    assert second.stdout.startswith("Hello again, welcome back")
    assert not (tmp_path / "data" / "redis.sock").exists(), "embedded Redis is stopped on exit"


def test_mail_waits_until_the_contact_opens_the_chat(redis_url):
    env = {"SHOPBOT_REDIS_URL": redis_url, "SHOPBOT_SHOP_NAME": "茶叶小铺"}
    subprocess.run(
        [PYTHON, "-c", _LEAVE_MAIL, redis_url], check=True, cwd=PROJECT_ROOT, env=bot_env()
    )
    opened = run_bot("chat", "--as", "mailtest", stdin="", **env)
    assert opened.stdout.splitlines() == ["您的快递已发出", "  [1] 查看物流"]


_LEAVE_MAIL = """
import asyncio, sys
from storage import mailbox
from storage.redis import create_client
async def main():
    redis = create_client(sys.argv[1])
    mail = {"text": "您的快递已发出", "buttons": [["查看物流", "track"]]}
    await mailbox.push(redis, "console:mailtest", mail)
    await redis.aclose()
asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("name", "value", "mentions"),
    [
        ("SHOPBOT_HTTP_PORT", "99999", "less than or equal to 65535"),
        ("SHOPBOT_HTTP_PORT", "eighty", "valid integer"),
        ("SHOPBOT_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("SHOPBOT_OWNERS", "telegram", "not channel:id"),
        ("SHOPBOT_LANGUAGE", "fr", "zh-CN, en"),
    ],
)
def test_bad_setting_exits_2_with_one_clear_line(name, value, mentions):
    result = run_bot("run", **{name: value})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {name}: ") and mentions in line


def test_config_file_is_read_and_environment_wins(tmp_path):
    config = tmp_path / "shopbot.yaml"
    config.write_text("http_port: 70000\n")
    from_file = run_bot("run", SHOPBOT_CONFIG=str(config))
    assert from_file.returncode == 2 and "SHOPBOT_HTTP_PORT" in from_file.stderr

    missing = run_bot("run", SHOPBOT_CONFIG=str(tmp_path / "absent.yaml"))
    assert missing.returncode == 2 and "SHOPBOT_CONFIG: no such file" in missing.stderr


def test_help_lists_every_command():
    result = run_bot("--help")
    assert result.returncode == 0
    for command in ("run", "chat"):
        assert f"    {command} " in result.stdout


def test_chat_refuses_a_bad_name(embedded_env):
    result = run_bot("chat", "--as", "a:b", **embedded_env)
    assert result.returncode == 2 and "--as takes a simple name" in result.stderr


def test_service_reports_healthy_and_stops_cleanly(embedded_env, tmp_path):
    port = free_port()
    env = bot_env(SHOPBOT_HTTP_PORT=str(port), **embedded_env)
    service = subprocess.Popen(
        [PYTHON, "-m", "bot", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        response = _wait_for_health(f"http://127.0.0.1:{port}/healthz", service)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "redis": "ok"}
        signed = {"signature": "f00d", "timestamp": "1", "nonce": "2", "openid": "oSecretX"}
        httpx.get(f"http://127.0.0.1:{port}/healthz", params=signed, timeout=2)
    finally:
        service.send_signal(signal.SIGINT)
        stdout, stderr = service.communicate(timeout=30)
    assert service.returncode == 0, stderr
    assert "python -m bot chat" in stderr, "the banner tells how to chat"
    access_log = stdout + stderr
    assert "GET /healthz?[redacted]" in access_log, "the access log shows the path, not the query"
    assert "oSecretX" not in access_log and "f00d" not in access_log
    assert not (tmp_path / "data" / "redis.sock").exists()


def _wait_for_health(url: str, service: subprocess.Popen) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if service.poll() is not None:
            raise AssertionError(f"service exited: {service.stderr.read()}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)  # the server is still starting: no clock to inject in a subprocess
    raise AssertionError("service never answered /healthz")


def test_a_channel_that_cannot_start_exits_2_with_one_line(embedded_env, tmp_path):
    result = run_bot(
        "run",
        SHOPBOT_HTTP_PORT=str(free_port()),
        SHOPBOT_TELEGRAM_TOKEN="123:abc",
        SHOPBOT_TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
        **embedded_env,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and "SHOPBOT_TELEGRAM_TOKEN" in errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "redis.sock").exists(), "embedded Redis stopped"


def test_chat_works_the_same_on_a_cluster_and_through_sentinel(valkey_cluster, sentinel_group):
    cluster = {"SHOPBOT_REDIS_URL": valkey_cluster[1].url, "SHOPBOT_REDIS_CLUSTER": "true"}
    sentinel = {"SHOPBOT_REDIS_SENTINELS": sentinel_group.addresses}
    for env in (cluster, sentinel):
        first = run_bot("chat", "--as", "nodes", stdin="hello\n", SHOPBOT_SHOP_ID="cli", **env)
        again = run_bot("chat", "--as", "nodes", stdin="hello\n", SHOPBOT_SHOP_ID="cli", **env)
        assert first.stdout.startswith("Hello, welcome to"), first.stderr
        assert again.stdout.startswith("Hello again, welcome back"), again.stderr
