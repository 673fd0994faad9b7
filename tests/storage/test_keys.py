"""Every key of one shop carries the shop's hash tag (issue 17: cluster-ready keys)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest
from redis.crc import key_slot

from storage import keys

_NOT_BUILDERS = {"configure", "shop_id", "using", "hash_tag", "scope", "check_shop_id"}


def _builders() -> list[Callable[..., object]]:
    return [
        function
        for name, function in inspect.getmembers(keys, inspect.isfunction)
        if function.__module__ == keys.__name__
        and not name.startswith("_")
        and name not in _NOT_BUILDERS
    ]


def _call(builder: Callable[..., object]) -> str:
    """The key ``builder`` makes (for affixes: what goes before the contact id)."""
    arguments = [
        7 if parameter.annotation in ("int", int) else "x{odd}:1"
        for parameter in inspect.signature(builder).parameters.values()
    ]
    built = builder(*arguments)
    return str(built[0] if isinstance(built, tuple) else built)


@pytest.mark.parametrize("builder", _builders(), ids=lambda builder: builder.__name__)
def test_every_key_starts_with_the_shop_scope(builder):
    key = _call(builder)
    assert key.startswith("shopbot:{shop:main}:")
    assert key_slot(key.encode()) == key_slot(b"{shop:main}")


def test_a_configured_shop_moves_every_key_to_its_own_tag():
    with keys.using("north-1"):
        assert keys.contact("telegram:42") == "shopbot:{shop:north-1}:c:telegram:42:profile"
        assert keys.followups_due() == "shopbot:{shop:north-1}:fu:due"
        assert keys.shop_id() == "north-1"
    assert keys.followups_due() == "shopbot:{shop:main}:fu:due", "restored after the block"


@pytest.mark.parametrize("bad", ["", "a{b", "a}b", "with space", "x" * 65, "a:b"])
def test_a_shop_id_that_could_break_the_tag_is_refused(bad):
    with pytest.raises(ValueError, match="shop id"):
        keys.configure(bad)
    assert keys.shop_id() == "main"
