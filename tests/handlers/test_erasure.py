"""Erasure reaches the disk (issue 13): after ``forget_contact`` on the embedded server, no
byte of the contact is left in any file of the data folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from erasure_support import ERASED, KEPT, dump, populate
from redis.asyncio import Redis
from support import FIXED_NOW

from config.catalog import default_catalog
from config.settings import Settings
from handlers import erasure
from handlers.erasure import Disk, ForgetRefused, forget_contact
from handlers.orders import record_order
from storage import audit, contacts
from storage.orders import OrderStatus
from storage.persistence import Rewrite, RewriteFailed, rewrite_append_only_file
from storage.redis import EmbeddedRedis, create_client


def on_disk(folder: Path) -> bytes:
    """Every file of the data folder, concatenated."""
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def found(data: bytes, texts: tuple[str, ...]) -> list[str]:
    return [text for text in texts if text.encode() in data]


@pytest.fixture
async def embedded(tmp_path) -> AsyncIterator[tuple[Redis, Path]]:
    """A persistent embedded server of its own (append-only file in a fresh data folder)."""
    folder = tmp_path / "data"
    server = EmbeddedRedis(folder)
    client = create_client(server.start())
    # Uncompressed snapshot in the rewritten file, so that a byte still there is seen.
    await client.config_set("rdbcompression", "no")
    yield client, folder
    await client.aclose()
    server.stop()


async def test_forget_leaves_no_byte_of_the_contact_in_the_data_folder(embedded):
    redis, folder = embedded
    settings = Settings(data_dir=folder, owners=("telegram:1",))
    await populate(redis, settings, ERASED, "一号")
    await populate(redis, settings, KEPT, "二号")
    assert await rewrite_append_only_file(redis) is Rewrite.DONE
    everything = ERASED.secrets + KEPT.secrets
    assert found(on_disk(folder), everything) == list(everything), "a rewrite keeps live data"

    report = await forget_contact(
        redis, settings, ERASED.id, actor="telegram:1", now=FIXED_NOW, owners=[]
    )

    assert report.disk is Disk.REWRITTEN
    data = on_disk(folder)
    assert found(data, ERASED.secrets) == []
    assert ERASED.id.encode() not in data
    assert found(data, KEPT.secrets) == list(KEPT.secrets)
    [entry] = await audit.recent(redis, 1)
    assert (entry.actor, entry.action, entry.target) == (
        "telegram:1",
        "forget",
        report.erasure.anonymous_id,
    )
    assert entry.at == FIXED_NOW


async def test_an_external_redis_is_left_to_its_operator(redis, settings):
    await populate(redis, settings, ERASED, "一号")

    report = await forget_contact(redis, settings, ERASED.id, actor="cli", now=FIXED_NOW, owners=[])

    assert report.disk is Disk.EXTERNAL
    with pytest.raises(ForgetRefused, match="unknown"):
        await forget_contact(redis, settings, ERASED.id, actor="cli", now=FIXED_NOW, owners=[])


async def test_a_server_without_an_append_only_file_has_nothing_to_rewrite(redis):
    assert await rewrite_append_only_file(redis) is Rewrite.NO_AOF


async def test_a_later_update_of_an_erased_contacts_order_brings_no_one_back(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    report = await forget_contact(redis, settings, ERASED.id, actor="cli", now=FIXED_NOW, owners=[])
    heard = []

    async def listener(event):
        heard.append(event)

    body = {"id": ERASED.order_id, "contact": ERASED.id, "status": "delivered"}
    recorded = await record_order(
        redis,
        body,
        now=FIXED_NOW,
        catalog=default_catalog(),
        language="zh-CN",
        tz=settings.tz,
        source="api",
        listeners=[listener],
    )

    assert recorded.changed and recorded.order.status is OrderStatus.DELIVERED
    assert recorded.order.contact_id == report.erasure.anonymous_id
    assert heard == [] and recorded.event is None, "no one to tell"
    names, everything = await dump(redis)
    assert ERASED.openid not in everything
    assert [name for name in names if "erased:" in name] == []


async def test_without_an_append_only_file_nothing_is_on_disk(redis, settings):
    await populate(redis, settings, ERASED, "一号")
    embedded = Settings(data_dir=settings.data_dir)  # no URL: the server is "ours"

    report = await forget_contact(redis, embedded, ERASED.id, actor="cli", now=FIXED_NOW, owners=[])

    assert report.disk is Disk.NOT_PERSISTED


async def test_a_failed_rewrite_is_reported_not_hidden(redis, settings, monkeypatch, caplog):
    """A rewrite cannot be made to fail on a real server here: the call is replaced."""
    await populate(redis, settings, ERASED, "一号")

    async def fail(redis):
        raise RewriteFailed("the append-only file rewrite failed")

    monkeypatch.setattr(erasure, "rewrite_append_only_file", fail)
    embedded = Settings(data_dir=settings.data_dir)

    report = await forget_contact(redis, embedded, ERASED.id, actor="cli", now=FIXED_NOW, owners=[])

    assert report.disk is Disk.FAILED
    assert "rewrite after an erasure failed" in caplog.text
    assert await contacts.get(redis, ERASED.id) is None, "the erasure itself stands"
