"""``migrate-keys`` (issue 17): old-layout keys move under the shop's tag, once, with TTLs."""

from __future__ import annotations

import io

from support import FIXED_NOW

from bot.commands.migrate_keys import migrate_keys
from storage import contacts, keys
from storage.key_migration import migrate, new_name


async def _old_layout(redis) -> None:
    await redis.hset("shopbot:c:{telegram:42}:profile", mapping={"language": "en"})
    await redis.set("shopbot:c:{telegram:42}:sent:order:1:shipped", "sent", ex=500)
    await redis.zadd("shopbot:{fu}:due", {"order:1:shipped": 1.0})
    await redis.hset("shopbot:{tickets}:T1001", mapping={"status": "open"})
    await redis.set("shopbot:wechat:token:{wx1}", "token", ex=500)
    await redis.sadd("shopbot:tag:{VIP}", "telegram:42")
    await redis.incr("shopbot:seq:contact")


def test_only_the_old_tags_lose_their_braces():
    assert new_name("shopbot:c:{telegram:42}:profile") == keys.contact("telegram:42")
    assert new_name("shopbot:{fu}:due") == keys.followups_due()
    assert new_name("shopbot:{roles}:staff") == keys.staff()
    assert new_name("shopbot:wechat:token:{wx1}:lock") == keys.wechat_access_token_lock("wx1")
    assert new_name("shopbot:tag:{VIP}") == keys.tag_members("{VIP}")
    assert new_name(keys.contact("telegram:42")) is None, "already migrated"
    assert new_name("other:app:key") is None


async def test_every_old_key_moves_with_its_value_and_ttl_and_a_rerun_moves_nothing(redis):
    await _old_layout(redis)
    done: list[int] = []
    report = await migrate(redis, done.append)
    assert (report.moved, report.conflicts, sum(done)) == (7, 0, 7)
    assert await redis.hget(keys.contact("telegram:42"), "language") == "en"
    assert 0 < await redis.ttl(keys.sent_message("telegram:42", "order:1:shipped")) <= 500
    assert await redis.zscore(keys.followups_due(), "order:1:shipped") == 1.0
    assert await redis.get(keys.contact_sequence()) == "1"
    assert await redis.smembers(keys.tag_members("{VIP}")) == {"telegram:42"}
    assert all(key.startswith(keys.scope()) for key in await redis.keys("*"))
    again = await migrate(redis)
    assert (again.moved, again.conflicts) == (0, 0)


async def test_a_taken_new_name_is_a_conflict_and_keeps_both(redis):
    await contacts.touch(redis, "telegram:42", FIXED_NOW)
    await redis.hset("shopbot:c:{telegram:42}:profile", mapping={"language": "en"})
    report = await migrate(redis)
    assert report.conflicts == 1
    assert await redis.exists("shopbot:c:{telegram:42}:profile")


async def test_the_command_reports_what_moved(redis, settings):
    await _old_layout(redis)
    out = io.StringIO()
    assert await migrate_keys(settings, out) == 0
    assert out.getvalue() == "7 keys moved, 0 left (new name taken)\n"
