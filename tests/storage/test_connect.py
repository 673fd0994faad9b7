"""Connection modes (issue 17): Sentinel, cluster, and durable writes that WAIT for replicas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support import FIXED_NOW

from bot.messages import Purpose
from config.settings import Settings
from storage import durability, followups, keys, orders
from storage.connect import connect
from storage.followups import Followup
from storage.orders import OrderChange, OrderItem


@pytest.fixture(autouse=True)
def restore_process_settings() -> Iterator[None]:
    """``connect`` sets the shop and the replica count process-wide; put them back."""
    yield
    keys.configure(keys.DEFAULT_SHOP)
    durability.configure(0)


def _order(n: int) -> OrderChange:
    item = OrderItem("sku-1", "Tea", 1, 10.0)
    return OrderChange(f"O{n}", contact_id="console:ann", items=(item,))


async def test_sentinel_mode_talks_to_the_primary_the_sentinels_name(sentinel_group, tmp_path):
    settings = Settings(redis_sentinels=sentinel_group.addresses, data_dir=tmp_path)
    async with connect(settings) as redis:
        info = await redis.info("replication")
        assert info["role"] == "master"
        port = await redis.config_get("port")
        assert port == {"port": str(sentinel_group.primary().port)}


async def test_cluster_mode_works_from_any_node_in_the_shops_slot(valkey_cluster, tmp_path):
    settings = Settings(
        redis_url=valkey_cluster[2].url, redis_cluster=True, shop_id="north", data_dir=tmp_path
    )
    async with connect(settings) as redis:
        assert keys.followups_due() == "shopbot:{shop:north}:fu:due"
        item = Followup(
            "order:1:shipped", "console:ann", FIXED_NOW, "shipped", Purpose.TRANSACTIONAL
        )
        assert await followups.schedule(redis, item)
        claimed = await followups.claim_due(redis, FIXED_NOW, limit=10, lease_s=60)
        assert [each.id for each in claimed] == ["order:1:shipped"]
        await redis.delete(*await redis.keys("shopbot:{shop:north}:*"))


async def test_a_durable_write_is_on_the_replica_when_it_returns(sentinel_group, tmp_path):
    settings = Settings(
        redis_sentinels=sentinel_group.addresses, redis_min_replicas=1, data_dir=tmp_path
    )
    replica = next(s for s in sentinel_group.servers if s is not sentinel_group.primary())
    async with connect(settings) as redis:
        await orders.apply(redis, _order(1), FIXED_NOW)
        with replica.client() as direct:
            assert direct.exists(keys.order("O1")), "WAIT returned: the replica holds it"
        await redis.delete(keys.order("O1"))


async def test_too_few_replicas_fail_a_durable_write(sentinel_group, tmp_path, monkeypatch):
    monkeypatch.setattr(durability, "WAIT_TIMEOUT_MS", 50)
    settings = Settings(
        redis_sentinels=sentinel_group.addresses, redis_min_replicas=2, data_dir=tmp_path
    )
    async with connect(settings) as redis:
        with pytest.raises(durability.ReplicationError, match="1 of 2 replicas"):
            await orders.apply(redis, _order(2), FIXED_NOW)
        await redis.delete(keys.order("O2"))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"redis_cluster": True}, "SHOPBOT_REDIS_URL"),
        ({"redis_cluster": True, "redis_url": "redis://x", "redis_min_replicas": 1}, "CLUSTER"),
        ({"redis_sentinels": "localhost"}, "host:port"),
        ({"shop_id": "a{b}"}, "pattern"),
    ],
)
def test_contradictory_connection_settings_are_refused(env, message):
    with pytest.raises(ValueError, match=message):
        Settings(**env)
