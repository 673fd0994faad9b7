"""Inbound WeChat throughput: the full app against a bare wechatpy endpoint, same run.

Posts signed plaintext-mode text messages (each with its own fresh timestamp
and nonce, as WeChat signs them) over loopback HTTP at concurrency 10 to a bare
baseline (Starlette: signature and freshness check, wechatpy parse, a fixed passive
reply) and to the full app (real Redis, dispatcher, handlers, passive reply), in
alternating rounds (each round's 200 senders are new contacts). Prints
messages/s for both over all rounds, their ratio and the app's p50/p99 latency.

    python bench/wechat_inbound.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.parser import parse_message
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import open_runtime
from bot.channels.wechat.crypto import MAX_SKEW_S
from bot.web import build_web_app
from config.settings import Settings
from handlers.faq.embedding import semantic_available, shared_embedder
from storage.redis import EmbeddedRedis

TOKEN = "benchtoken"
CONCURRENCY = 10
TEXTS = ("你好", "什么时候发货", "hello", "尺码怎么选")
NEW_QUESTIONS = 50


def baseline_app() -> Starlette:
    """Signature and freshness check, wechatpy parse, fixed passive reply: the least a WeChat
    bot does."""

    async def wechat(request: Request) -> Response:
        params = request.query_params
        try:
            check_signature(TOKEN, params["signature"], params["timestamp"], params["nonce"])
        except (KeyError, InvalidSignatureException):
            return PlainTextResponse("forbidden", status_code=403)
        if abs(int(params["timestamp"]) - time.time()) > MAX_SKEW_S:
            return PlainTextResponse("forbidden", status_code=403)
        message = parse_message(await request.body())
        reply = TextReply(message=message, content="您好，欢迎光临！").render()
        return Response(reply, media_type="application/xml")

    return Starlette(routes=[Route("/wechat", wechat, methods=["POST"])])


def _signed(timestamp: str, nonce: str) -> dict[str, str]:
    signature = hashlib.sha1("".join(sorted((TOKEN, timestamp, nonce))).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def _body(n: int, run: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
        f"<FromUserName><![CDATA[o{run}{n % 200}]]></FromUserName>"
        f"<CreateTime>{1_700_000_000 + n}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{TEXTS[n % len(TEXTS)]}]]></Content>"
        f"<MsgId>{run_id(run) * 10_000_000 + n}</MsgId></xml>"
    )


def run_id(run: str) -> int:
    return int(hashlib.sha1(run.encode()).hexdigest()[:6], 16)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _serve(app: Starlette) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn only exposes a flag
        await asyncio.sleep(0.01)
    return server, task, f"http://127.0.0.1:{port}"


async def _load(url: str, total: int, run: str) -> tuple[float, list[float]]:
    """Post ``total`` messages with CONCURRENCY workers; (seconds, latencies in ms)."""
    latencies: list[float] = []
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for n in counter:
                params = _signed(str(int(time.time())), f"{run}-{n}")
                started = time.perf_counter()
                response = await client.post("/wechat", params=params, content=_body(n, run))
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or "<xml>" not in response.text:
                    raise RuntimeError(f"unexpected answer {response.status_code}: {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started, latencies


async def _measure(app: Starlette, total: int, warmup: int, run: str) -> tuple[float, list[float]]:
    server, task, url = await _serve(app)
    try:
        await _load(url, warmup, f"{run}-warm")
        return await _load(url, total, run)
    finally:
        server.should_exit = True
        await task


async def bench(total: int, warmup: int, rounds: int, data_dir: Path) -> dict[str, float]:
    """Baseline and full app in alternating rounds; returns the figures over all rounds.

    Alternating keeps a drift in the machine's speed (another process, a CPU
    frequency change) from landing on one side only.
    """
    embedded = EmbeddedRedis(data_dir / "redis", persistent=False)
    redis_url = embedded.start()
    base_s = app_s = 0.0
    latencies: list[float] = []
    try:
        settings = Settings(redis_url=redis_url, data_dir=data_dir, wechat_token=TOKEN)
        async with open_runtime(settings) as runtime:
            await runtime.redis.flushdb()
            await runtime.pipeline.warm_up()  # as `python -m bot run` does before serving
            for n in range(rounds):
                base_round, _ = await _measure(baseline_app(), total, warmup, f"base{n}")
                app_round, app_latencies = await _measure(
                    build_web_app(runtime), total, warmup, f"app{n}"
                )
                print(f"round {n + 1}: ratio {base_round / app_round:.2f}")
                base_s, app_s = base_s + base_round, app_s + app_round
                latencies += app_latencies
            for channel in runtime.channels.values():
                await channel.stop()
    finally:
        embedded.stop()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "app_msgs_per_s": total * rounds / app_s,
        "baseline_msgs_per_s": total * rounds / base_s,
        "throughput_ratio": base_s / app_s,
        "p50_ms": quantiles[49],
        "p99_ms": quantiles[98],
        "new_question_embed_ms": _new_question_ms(NEW_QUESTIONS),
    }


def _new_question_ms(count: int) -> float:
    """Median CPU time the FAQ model takes for a question it has not seen in this process.

    The rounds above repeat the four ``TEXTS``, whose vectors the app keeps after the
    first (``handlers/faq/embedding.py``, ``QUESTIONS_KEPT``); a new question pays this.
    """
    if not semantic_available():
        return 0.0
    embedder, timings = shared_embedder(), []
    for n in range(count):
        started = time.process_time()
        embedder.embed_question(f"{TEXTS[n % len(TEXTS)]} {n}")
        timings.append((time.process_time() - started) * 1000)
    return statistics.median(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (for CI smoke tests)")
    args = parser.parse_args(argv)
    total, warmup, rounds = (400, 50, 3) if args.quick else (2000, 100, 4)
    with tempfile.TemporaryDirectory(prefix="shopbot-bench-") as tmp:
        figures = asyncio.run(bench(total, warmup, rounds, Path(tmp)))
    print(
        f"{rounds} rounds of {total} signed text messages each way, concurrency {CONCURRENCY},"
        " loopback HTTP, real Redis"
    )
    print("target: throughput_ratio >= 0.5, p99 far below 5000 ms")
    for name, value in figures.items():
        print(f"{name}: {value:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
