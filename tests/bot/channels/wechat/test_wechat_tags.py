"""Owner tags mirrored to WeChat user tags, against the fake WeChat API and real Redis."""

from __future__ import annotations

import io

import pytest
from fakes.wechat_api import (
    ACCOUNT_TAG_LIMIT,
    TAGS_CREATE,
    TAGS_GET,
    TAGS_TAG,
    TAGS_UNTAG,
    USER_TAG_LIMIT,
)
from support import FIXED_NOW, send_command

from bot.channels.wechat.tags import WeChatTagMirror, wechat_tag_mirror
from bot.commands.wechat_tags import sync_tags
from bot.context import TagMirrorFailure, TagProblem
from bot.dispatcher import Dispatcher
from bot.roles import Roles
from config.i18n import default_templates
from handlers.pipeline import default_pipeline
from storage import contacts, wechat_tags
from storage.contacts import TagSource

OWNER = "telegram:1"
ALICE = "wechat:oAlice"


@pytest.fixture
def mirror(wechat_settings, redis) -> WeChatTagMirror:
    built = wechat_tag_mirror(wechat_settings, redis)
    assert built is not None
    return built


def _fill_account(api, count: int = ACCOUNT_TAG_LIMIT) -> None:
    for n in range(count):
        api.add_tag(f"tag{n}")


async def test_first_use_creates_the_tag_then_its_cached_id_is_reused(
    mirror, wechat_api, wechat_settings, redis
):
    assert await mirror.mirror(ALICE, ["VIP"], []) == []
    assert wechat_api.user_tags("oAlice") == {"VIP"}
    [created] = wechat_api.requests(TAGS_CREATE)
    assert created.body == {"tag": {"name": "VIP"}}
    vip_id = wechat_api.tags()["VIP"]
    assert await wechat_tags.tag_id(redis, "wxshop", "VIP") == vip_id

    other_process = wechat_tag_mirror(wechat_settings, redis)
    assert await other_process.mirror("wechat:oBob", ["VIP"], []) == []
    assert len(wechat_api.requests(TAGS_CREATE)) == 1
    assert [r.body["tagid"] for r in wechat_api.requests(TAGS_TAG)] == [vip_id, vip_id]
    assert wechat_api.user_tags("oBob") == {"VIP"}


async def test_a_tag_made_in_the_back_office_is_found_not_duplicated(mirror, wechat_api):
    vip_id = wechat_api.add_tag("VIP")
    assert await mirror.mirror(ALICE, ["VIP"], []) == []
    assert len(wechat_api.requests(TAGS_GET)) == 1  # create said 45157: look it up
    assert wechat_api.tags()["VIP"] == vip_id
    assert wechat_api.user_tags("oAlice") == {"VIP"}


async def test_a_tag_deleted_in_the_back_office_is_created_again(mirror, wechat_api):
    await mirror.mirror(ALICE, ["VIP"], [])
    wechat_api.delete_tag("VIP")
    assert await mirror.mirror("wechat:oBob", ["VIP"], []) == []
    assert len(wechat_api.requests(TAGS_CREATE)) == 2
    assert wechat_api.user_tags("oBob") == {"VIP"}


async def test_users_are_tagged_fifty_openids_per_call(mirror, wechat_api):
    openids = [f"o{n:03}" for n in range(120)]
    assert await mirror.tag_users("VIP", openids) == []
    sizes = [len(r.body["openid_list"]) for r in wechat_api.requests(TAGS_TAG)]
    assert sizes == [50, 50, 20]
    assert all(wechat_api.user_tags(openid) == {"VIP"} for openid in openids)

    assert await mirror.untag_users("VIP", openids) == []
    assert [len(r.body["openid_list"]) for r in wechat_api.requests(TAGS_UNTAG)] == [50, 50, 20]
    assert not any(wechat_api.user_tags(openid) for openid in openids)


async def test_a_user_at_twenty_tags_is_named_and_the_rest_of_the_batch_tagged(mirror, wechat_api):
    _fill_account(wechat_api, USER_TAG_LIMIT)
    wechat_api.tag_user_directly("o007", *(f"tag{n}" for n in range(USER_TAG_LIMIT)))
    openids = [f"o{n:03}" for n in range(60)]

    problems = await mirror.tag_users("VIP", openids)

    assert problems == [TagProblem("VIP", TagMirrorFailure.USER_LIMIT, ("wechat:o007",))]
    assert "VIP" not in wechat_api.user_tags("o007")
    assert all("VIP" in wechat_api.user_tags(o) for o in openids if o != "o007")


async def test_the_hundred_tag_limit_is_reported_for_every_contact(mirror, wechat_api):
    _fill_account(wechat_api)
    problems = await mirror.tag_users("VIP", ["oAlice", "oBob"])
    assert problems == [
        TagProblem("VIP", TagMirrorFailure.ACCOUNT_LIMIT, ("wechat:oAlice", "wechat:oBob"))
    ]
    assert not wechat_api.requests(TAGS_TAG)


async def test_untag_takes_the_wechat_tag_off(mirror, wechat_api):
    await mirror.mirror(ALICE, ["VIP", "回头客"], [])
    assert await mirror.mirror(ALICE, [], ["VIP"]) == []
    assert wechat_api.user_tags("oAlice") == {"回头客"}


async def test_untagging_a_tag_never_mirrored_creates_nothing(mirror, wechat_api):
    assert await mirror.mirror(ALICE, [], ["never-seen"]) == []
    assert not wechat_api.requests(TAGS_CREATE)
    assert not wechat_api.requests(TAGS_UNTAG)


async def test_contacts_of_other_channels_are_left_alone(mirror, wechat_api):
    assert await mirror.mirror("telegram:42", ["VIP"], ["x"]) == []
    assert wechat_api.requests() == []


async def test_a_wechat_error_is_reported_as_unavailable(mirror, wechat_api):
    wechat_api.fail_next(TAGS_CREATE, -1)  # system busy
    [problem] = await mirror.mirror(ALICE, ["VIP"], [])
    assert (problem.tag, problem.reason) == ("VIP", TagMirrorFailure.UNAVAILABLE)


async def test_no_mirror_without_wechat_configured(settings, wechat_settings, redis):
    assert wechat_tag_mirror(settings, redis) is None
    no_secret = wechat_settings.model_copy(update={"wechat_app_secret": None})
    assert wechat_tag_mirror(no_secret, redis) is None


# --- through the owner console ---


def _dispatcher(redis, settings, tag_mirror) -> Dispatcher:
    pipeline = default_pipeline(settings, tag_mirror=tag_mirror)
    return Dispatcher(
        redis=redis,
        settings=settings,
        templates=default_templates(),
        roles=Roles(settings, redis),
        observers=pipeline.observers,
        responders=pipeline.responders,
        clock=lambda: FIXED_NOW,
    )


@pytest.fixture
async def console(wechat_settings, redis, mirror, make_message):
    """Send a command as the owner, through a pipeline with (or without) the mirror."""
    await contacts.ensure(redis, ALICE, FIXED_NOW)
    dispatchers = {
        True: _dispatcher(redis, wechat_settings, mirror),
        False: _dispatcher(redis, wechat_settings, None),
    }

    async def say(text: str, *, mirrored: bool = True) -> str:
        return await send_command(dispatchers[mirrored], make_message, OWNER, text)

    return say


def _text(key: str, tag: str) -> str:
    return default_templates().render(key, "en", tag=tag)


async def test_owner_tag_shows_in_the_wechat_back_office(console, wechat_api, mirror):
    reply = await console(f"/tag {ALICE} VIP 回头客")
    assert "tagged: VIP, 回头客" in reply and "not copied" not in reply
    assert wechat_api.user_tags("oAlice") == {"VIP", "回头客"}
    ids = await mirror._api.call(lambda client: client.tag.get_user_tag("oAlice"))
    assert sorted(ids) == sorted(wechat_api.tags()[t] for t in ("VIP", "回头客"))

    reply = await console(f"/untag {ALICE} VIP")
    assert "untagged: VIP" in reply
    assert wechat_api.user_tags("oAlice") == {"回头客"}


async def test_owner_is_told_when_the_account_has_a_hundred_tags(console, wechat_api, redis):
    _fill_account(wechat_api)
    reply = await console(f"/tag {ALICE} VIP")
    assert "tagged: VIP" in reply
    assert _text("tag_mirror_account_limit", "VIP") in reply
    info = (await contacts.tags_of(redis, ALICE))["VIP"]
    assert info.source is TagSource.OWNER  # kept in Shopbot all the same


async def test_owner_is_told_when_the_user_has_twenty_tags(console, wechat_api):
    _fill_account(wechat_api, USER_TAG_LIMIT)
    wechat_api.tag_user_directly("oAlice", *(f"tag{n}" for n in range(USER_TAG_LIMIT)))
    reply = await console(f"/tag {ALICE} VIP")
    assert _text("tag_mirror_user_limit", "VIP") in reply


async def test_retagging_retries_a_tag_that_was_refused(console, wechat_api):
    _fill_account(wechat_api)
    await console(f"/tag {ALICE} VIP")
    wechat_api.delete_tag("tag0")  # the owner makes room in the back office
    reply = await console(f"/tag {ALICE} VIP")
    assert "already had: VIP" in reply and "not copied" not in reply
    assert wechat_api.user_tags("oAlice") == {"VIP"}


async def test_without_a_mirror_tag_calls_nothing(console, wechat_api):
    reply = await console(f"/tag {ALICE} VIP", mirrored=False)
    assert "tagged: VIP" in reply
    assert wechat_api.requests() == []


# --- python -m bot wechat-tags sync ---


async def test_sync_pushes_owner_tags_of_wechat_contacts_only(wechat_settings, wechat_api, redis):
    openids = [f"o{n:03}" for n in range(55)]
    for openid in openids:
        await contacts.add_tags(redis, f"wechat:{openid}", ["VIP"], TagSource.OWNER, FIXED_NOW)
        await contacts.ensure(redis, f"wechat:{openid}", FIXED_NOW)
    await contacts.add_tags(redis, "wechat:o000", ["首次询单"], TagSource.AUTO, FIXED_NOW)
    await contacts.add_tags(redis, "telegram:9", ["VIP"], TagSource.OWNER, FIXED_NOW)
    await contacts.ensure(redis, "telegram:9", FIXED_NOW)
    out = io.StringIO()

    assert await sync_tags(wechat_settings, out) == 0

    assert out.getvalue() == "VIP: 55 of 55 mirrored\n"
    assert [len(r.body["openid_list"]) for r in wechat_api.requests(TAGS_TAG)] == [50, 5]
    assert wechat_api.user_tags("o000") == {"VIP"}  # the automatic tag stays in Shopbot
    assert set(wechat_api.tags()) == {"星标组", "VIP"}


async def test_sync_names_the_contacts_wechat_refused(wechat_settings, wechat_api, redis):
    _fill_account(wechat_api, USER_TAG_LIMIT)
    wechat_api.tag_user_directly("oFull", *(f"tag{n}" for n in range(USER_TAG_LIMIT)))
    for openid in ("oFull", "oFine"):
        await contacts.ensure(redis, f"wechat:{openid}", FIXED_NOW)
        await contacts.add_tags(redis, f"wechat:{openid}", ["VIP"], TagSource.OWNER, FIXED_NOW)
    out = io.StringIO()

    assert await sync_tags(wechat_settings, out) == 1

    assert out.getvalue() == "VIP: 1 of 2 mirrored\n  not mirrored (user_limit): wechat:oFull\n"


async def test_sync_without_wechat_is_an_error(settings, capsys):
    assert await sync_tags(settings, io.StringIO()) == 1
    assert "WeChat is not configured" in capsys.readouterr().err
