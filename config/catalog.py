"""The product catalogue: sku, name per language, price, consumption cycle in days, and
what the bot may tell customers about a product (aliases, description, stock, related
products, a usage tip)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CATALOG = Path(__file__).parent / "catalog.yaml"
LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class Product:
    """One product the shop sells.

    ``stock`` is None when the shop does not track it; ``related`` names other skus
    (关联推荐); ``aliases`` are other names customers use for it.
    """

    sku: str
    names: Mapping[str, str]
    price: float
    cycle_days: int | None = None
    aliases: tuple[str, ...] = ()
    descriptions: Mapping[str, str] | None = None
    stock: int | None = None
    related: tuple[str, ...] = ()
    usage_tips: Mapping[str, str] | None = None

    def name(self, language: str) -> str:
        """The product's name in ``language``, else any name it has, else the sku."""
        return self.names.get(language) or next(iter(self.names.values()), self.sku)

    def description(self, language: str) -> str | None:
        """What the product is, in ``language`` (None when the catalogue says nothing)."""
        return _in_language(self.descriptions, language)

    def usage_tip(self, language: str) -> str | None:
        """How to use or keep the product, in ``language`` (None when there is no tip)."""
        return _in_language(self.usage_tips, language)

    @property
    def spoken_names(self) -> tuple[str, ...]:
        """Every name customers may call it by: names in each language and aliases."""
        return (*self.names.values(), *self.aliases)


class Catalog:
    """Products by sku."""

    def __init__(self, products: list[Product]) -> None:
        self._by_sku = {product.sku: product for product in products}

    @classmethod
    def load(cls, path: Path = DEFAULT_CATALOG) -> Catalog:
        """Read a catalogue YAML file (``products: [{sku, name, price, ...}]``).

        A ``related`` sku that is not in the catalogue raises ``ValueError``.
        """
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        catalog = cls([_product(item) for item in data.get("products", [])])
        for product in catalog:
            unknown = [sku for sku in product.related if catalog.get(sku) is None]
            if unknown:
                raise ValueError(f"catalogue entry {product.sku!r}: unknown related {unknown[0]!r}")
        return catalog

    def get(self, sku: str) -> Product | None:
        """The product with ``sku``, if the shop sells it."""
        return self._by_sku.get(sku)

    def __iter__(self) -> Iterator[Product]:
        return iter(self._by_sku.values())

    def __len__(self) -> int:
        return len(self._by_sku)


def _product(item: Mapping[str, Any]) -> Product:
    try:
        cycle = item.get("cycle_days")
        stock = item.get("stock")
        if stock is not None and (int(stock) != stock or stock < 0):
            raise ValueError("stock must be a whole number of at least 0")
        return Product(
            str(item["sku"]),
            _texts(item["name"], "name"),
            float(item["price"]),
            int(cycle) if cycle else None,
            aliases=tuple(str(alias) for alias in item.get("aliases") or ()),
            descriptions=_optional_texts(item.get("description"), "description"),
            stock=int(stock) if stock is not None else None,
            related=tuple(str(sku) for sku in item.get("related") or ()),
            usage_tips=_optional_texts(item.get("usage_tip"), "usage_tip"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"catalogue entry {item!r}: {exc}") from None


def _texts(value: Any, field: str) -> dict[str, str]:
    """A text per language: a mapping, or one string for every language."""
    if isinstance(value, Mapping):
        return {str(language): str(text) for language, text in value.items()}
    if isinstance(value, str) and value.strip():
        return dict.fromkeys(LANGUAGES, value)
    raise ValueError(f"{field} must be a text or a text per language")


def _optional_texts(value: Any, field: str) -> dict[str, str] | None:
    return None if value is None else _texts(value, field)


def _in_language(texts: Mapping[str, str] | None, language: str) -> str | None:
    if not texts:
        return None
    return texts.get(language) or next(iter(texts.values()))


@cache
def default_catalog() -> Catalog:
    """The catalogue shipped in ``config/catalog.yaml``."""
    return Catalog.load()
