"""The product catalogue."""

from __future__ import annotations

import pytest

from config.catalog import Catalog, default_catalog


def test_default_catalog_has_products_with_cycles():
    catalog = default_catalog()
    tea = catalog.get("tea-250g")
    assert tea is not None and tea.cycle_days == 30 and tea.price == 59.0
    assert tea.name("en") == "Longjing green tea 250g" and tea.name("zh-CN").startswith("西湖龙井")
    teapot = catalog.get("teapot")
    assert teapot is not None and teapot.cycle_days is None
    assert catalog.get("nope") is None


def test_bad_entry_names_itself(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("products:\n  - sku: x\n    name: X\n")
    with pytest.raises(ValueError, match="price"):
        Catalog.load(path)
