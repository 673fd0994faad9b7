"""The owner's command-line side, in subprocesses: the claim code, import and export."""

from __future__ import annotations

import re
import signal
import subprocess

from openpyxl import load_workbook
from support import PROJECT_ROOT, PYTHON, bot_env, free_port, run_cli

from storage import keys


def _claim_code_from_run(env: dict[str, str]) -> str:
    service = subprocess.Popen(
        [PYTHON, "-m", "bot", "run"],
        cwd=PROJECT_ROOT,
        env=bot_env(SHOPBOT_HTTP_PORT=str(free_port()), **env),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in service.stderr:
            found = re.search(r"/claim (\S+)", line)
            if found:
                return found[1]
        raise AssertionError("no claim code printed")
    finally:
        service.send_signal(signal.SIGINT)
        service.communicate(timeout=30)


async def test_first_start_prints_a_claim_code_that_works_once(redis, redis_url):
    env = {"SHOPBOT_REDIS_URL": redis_url, "SHOPBOT_LANGUAGE": "en"}
    code = _claim_code_from_run(env)
    claimed = run_cli("chat", "--as", "boss", stdin=f"/claim {code}\n/tags\n", **env)
    assert "you are now an owner" in claimed.stdout and "All tags (contacts):" in claimed.stdout
    late = run_cli("chat", "--as", "other", stdin=f"/claim {code}\n", **env)
    assert "owner" not in late.stdout and "passed your question on" in late.stdout
    assert await redis.smembers(keys.claimed_owners()) == {"console:boss"}


def test_no_claim_code_when_owners_are_configured(redis_url):
    env = {"SHOPBOT_REDIS_URL": redis_url, "SHOPBOT_OWNERS": "telegram:1"}
    service = subprocess.Popen(
        [PYTHON, "-m", "bot", "run"],
        cwd=PROJECT_ROOT,
        env=bot_env(SHOPBOT_HTTP_PORT=str(free_port()), **env),
        stderr=subprocess.PIPE,
        text=True,
    )
    before_ready = []
    for line in service.stderr:
        before_ready.append(line)
        if "Press Ctrl-C" in line:
            break
    service.send_signal(signal.SIGINT)
    service.communicate(timeout=30)
    assert any("Shopbot is running" in line for line in before_ready)
    assert not any("/claim" in line for line in before_ready), "the code comes before the banner"


async def test_import_with_a_bad_row_then_export(redis, redis_url, tmp_path):
    env = {"SHOPBOT_REDIS_URL": redis_url}
    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_text(
        "id,contact,status,sku,qty\nA1,wechat:oA,paid,tea-250g,2\nA2,wechat:oB,lost,tea-250g,1\n",
        encoding="utf-8",
    )
    imported = run_cli("import", "orders", str(orders_csv), **env)
    assert imported.returncode == 1
    assert "importing orders [" in imported.stderr and "2/2" in imported.stderr
    assert "row 3: status: must be one of" in imported.stderr
    assert "orders: 1 imported, 0 unchanged, 1 rows with errors" in imported.stdout

    archive = tmp_path / "archive.xlsx"
    exported = run_cli("export", "contacts", str(archive), **env)
    assert exported.returncode == 0, exported.stderr
    rows = list(load_workbook(archive).active.iter_rows(values_only=True))
    header = rows[0]
    [row] = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert (row["contact"], row["spend"], row["products"]) == ("wechat:oA", 118, "西湖龙井 250g")

    missing = run_cli("import", "contacts", str(tmp_path / "nope.csv"), **env)
    assert missing.returncode == 2 and "no such file" in missing.stderr


async def test_owner_runs_the_shop_from_the_terminal(redis, redis_url):
    env = {"SHOPBOT_REDIS_URL": redis_url, "SHOPBOT_LANGUAGE": "en"}
    run_cli("chat", "--as", "amy", stdin="hello\n", **env)
    owner = run_cli(
        "chat",
        "--owner",
        stdin="/tag console:amy VIP\n/find tag:VIP\n/order add console:amy tea-500g\n"
        "/order O10000001 paid\n/contact console:amy\n",
        **env,
    )
    assert owner.returncode == 0, owner.stderr
    assert "1 contacts match" in owner.stdout
    assert "Paid orders: 1 · lifetime spend ¥109.00" in owner.stdout
    assert "O10000001 paid ¥109.00 Longjing green tea 500g x1" in owner.stdout
