"""The issue's terminal scenario, end to end in subprocesses: an FAQ, a ticket, a handoff."""

from __future__ import annotations

import subprocess

from support import PROJECT_ROOT, PYTHON, bot_env


def chat(*args: str, stdin: str, data_dir: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "bot", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
        env=bot_env(SHOPBOT_DATA_DIR=data_dir),
    )


def test_piped_chat_opens_a_ticket_then_hands_over(tmp_path):
    data_dir = str(tmp_path / "data")
    customer = chat(stdin="多久能发货\n我要退货 订单号 202611220001\n转人工\n", data_dir=data_dir)
    owner = chat("--owner", stdin="", data_dir=data_dir)

    assert customer.returncode == 0, customer.stderr
    out = customer.stdout
    assert out.startswith("亲，现货商品付款后48小时内发货"), "the FAQ answers the first line"
    assert "亲，已为您登记退货申请，工单号 T1001（订单号 202611220001）" in out
    assert "已为您转接人工客服" in out
    assert out.index("T1001") < out.index("转接人工客服")

    assert owner.returncode == 0, owner.stderr
    assert "新工单 T1001｜退货申请｜订单 202611220001" in owner.stdout
    assert "客户请求人工客服：C1 · console · customer" in owner.stdout
    assert "工单 T1001" in owner.stdout.split("客户请求人工客服")[1]
