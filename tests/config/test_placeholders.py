"""The one placeholder-filling helper every template goes through."""

import pytest

from config.placeholders import fill, placeholders


def test_fills_named_placeholders_with_their_format_spec():
    assert fill("{name}: ¥{amount:.2f}", {"name": "Alice", "amount": 3.5}) == "Alice: ¥3.50"


def test_a_missing_placeholder_raises_unless_blanks_are_allowed():
    with pytest.raises(KeyError):
        fill("Hi {name}", {})
    assert fill("Hi {name}{shop_name}", {"name": "Bo"}, blank_missing=True) == "Hi Bo"


def test_a_malformed_text_raises_value_error():
    with pytest.raises(ValueError):
        fill("Hi {name", {"name": "Bo"}, blank_missing=True)


def test_placeholders_names_the_first_part_of_each_field():
    assert placeholders("{name}, ¥{amount:.2f} for {order.id} {items[0]} {{x}}") == {
        "name",
        "amount",
        "order",
        "items",
    }
