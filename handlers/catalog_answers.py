"""Catalogue answers (售前): price, stock, usage and "what is it" questions about a product.

A product is recognised by its names and aliases (``config/catalog.yaml``), the longest
match first; "这个" (this one) means the product the customer asked about last, else
the one they ordered last. The question kinds are phrase rules in
``config/catalog_questions.yaml``. One related product (关联推荐) closes the answer when
the catalogue names one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

import config
from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from config.catalog import Catalog, Product, default_catalog
from handlers.text_rules import PhraseRule, normalize, phrase_regex
from storage import contacts, orders

QUESTIONS_FILE = Path(config.__file__).parent / "catalog_questions.yaml"
KINDS = ("describe", "price", "stock", "usage")
"""Question kinds, in the order their answers are given."""
DESCRIBE = "describe"
THIS = "this"
CONTEXT_TTL_S = 86_400
"""How long "这个" refers to the product asked about."""
LOW_STOCK = 10
"""At or below this many units the answer says how many are left."""


@dataclass(frozen=True, slots=True)
class CatalogQuestions:
    """Recognises products and question kinds in a customer's message."""

    catalog: Catalog
    names: tuple[tuple[re.Pattern[str], Product], ...]
    kinds: dict[str, PhraseRule]

    @classmethod
    def build(cls, catalog: Catalog, spec: dict[str, Any]) -> CatalogQuestions:
        """From a catalogue and the parsed ``catalog_questions.yaml``."""
        spoken = [
            (normalize(name), product) for product in catalog for name in product.spoken_names
        ]
        spoken.sort(key=lambda pair: len(pair[0]), reverse=True)
        names = tuple((re.compile(phrase_regex(name)), product) for name, product in spoken)
        kinds = {
            kind: PhraseRule.compile(spec[kind].get("keywords", ()), spec[kind].get("patterns", ()))
            for kind in (*KINDS, THIS)
        }
        return cls(catalog, names, kinds)

    def product_in(self, normalized: str) -> Product | None:
        """The product the text names (the longest name or alias wins)."""
        return next((product for regex, product in self.names if regex.search(normalized)), None)

    def asked(self, normalized: str) -> list[str]:
        """The question kinds in the text, in answer order; "what is" only when nothing
        more precise is asked ("what's the price" asks the price)."""
        found = [kind for kind in KINDS if self.kinds[kind].search(normalized)]
        return [kind for kind in found if kind != DESCRIBE] or found

    def points_back(self, normalized: str) -> bool:
        """True when the text says "this one" instead of a name."""
        return self.kinds[THIS].search(normalized)


@cache
def default_questions() -> CatalogQuestions:
    """The shipped catalogue and question rules (read once)."""
    spec = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))
    return CatalogQuestions.build(default_catalog(), spec)


class CatalogAnswers:
    """The responder: claims a product question it can answer from the catalogue."""

    def __init__(self, questions: CatalogQuestions | None = None) -> None:
        self.questions = questions or default_questions()

    async def __call__(self, message: InboundMessage, ctx: Context) -> bool:
        """Answer price, stock, usage and "what is it" about a named (or earlier) product."""
        if message.kind is not MessageKind.TEXT:
            return False
        normalized = normalize(message.text)
        kinds = self.questions.asked(normalized)
        if not kinds:
            return False
        product = self.questions.product_in(normalized)
        if product is None and self.questions.points_back(normalized):
            product = await self._earlier_product(ctx)
        if product is None:
            return False
        await contacts.remember_product(ctx.redis, ctx.ref.id, product.sku, CONTEXT_TTL_S)
        ctx.reply(self._answer(ctx, product, kinds))
        return True

    async def _earlier_product(self, ctx: Context) -> Product | None:
        sku = await contacts.last_product(ctx.redis, ctx.ref.id)
        if sku is None:
            newest = await orders.orders_of(ctx.redis, ctx.ref.id, limit=1)
            sku = newest[0].items[0].sku if newest and newest[0].items else None
        return self.questions.catalog.get(sku) if sku else None

    def _answer(self, ctx: Context, product: Product, kinds: list[str]) -> str:
        name = product.name(ctx.language)
        lines = [line for kind in kinds if (line := _line(ctx, product, name, kind))]
        if not lines:  # Nothing the catalogue knows for that question: at least the basics.
            lines.append(ctx.render("catalog_price", product=name, price=_price(product.price)))
        related = next(
            (r for sku in product.related if (r := self.questions.catalog.get(sku))), None
        )
        if related is not None:
            lines.append(
                ctx.render(
                    "catalog_related",
                    product=related.name(ctx.language),
                    price=_price(related.price),
                )
            )
        return "\n".join(lines)


def _line(ctx: Context, product: Product, name: str, kind: str) -> str | None:
    match kind:
        case "price":
            return ctx.render("catalog_price", product=name, price=_price(product.price))
        case "stock":
            return ctx.render(_stock_key(product.stock), product=name, stock=product.stock)
        case "usage":
            tip = product.usage_tip(ctx.language)
            return ctx.render("catalog_usage", product=name, tip=tip) if tip else None
        case "describe":
            text = product.description(ctx.language)
            return ctx.render("catalog_describe", product=name, description=text) if text else None
    return None


def _stock_key(stock: int | None) -> str:
    if stock is None:
        return "catalog_stock_untracked"
    if stock == 0:
        return "catalog_stock_out"
    return "catalog_stock_low" if stock <= LOW_STOCK else "catalog_stock_in"


def _price(price: float) -> str:
    return f"{price:g}" if price == int(price) else f"{price:.2f}"
