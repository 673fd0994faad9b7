"""The product catalogue: sku, name per language, price, consumption cycle in days."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DEFAULT_CATALOG = Path(__file__).parent / "catalog.yaml"


@dataclass(frozen=True, slots=True)
class Product:
    """One product the shop sells."""

    sku: str
    names: Mapping[str, str]
    price: float
    cycle_days: int | None = None

    def name(self, language: str) -> str:
        """The product's name in ``language``, else any name it has, else the sku."""
        return self.names.get(language) or next(iter(self.names.values()), self.sku)


class Catalog:
    """Products by sku."""

    def __init__(self, products: list[Product]) -> None:
        self._by_sku = {product.sku: product for product in products}

    @classmethod
    def load(cls, path: Path = DEFAULT_CATALOG) -> Catalog:
        """Read a catalogue YAML file (``products: [{sku, name, price, cycle_days?}]``)."""
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls([_product(item) for item in data.get("products", [])])

    def get(self, sku: str) -> Product | None:
        """The product with ``sku``, if the shop sells it."""
        return self._by_sku.get(sku)

    def __iter__(self) -> Iterator[Product]:
        return iter(self._by_sku.values())

    def __len__(self) -> int:
        return len(self._by_sku)


def _product(item: Mapping) -> Product:
    try:
        name = item["name"]
        names = dict(name) if isinstance(name, Mapping) else {"zh-CN": name, "en": name}
        cycle = item.get("cycle_days")
        return Product(str(item["sku"]), names, float(item["price"]), int(cycle) if cycle else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"catalogue entry {item!r}: {exc}") from None


@cache
def default_catalog() -> Catalog:
    """The catalogue shipped in ``config/catalog.yaml``."""
    return Catalog.load()
