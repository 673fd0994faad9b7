"""Membership answers generated from ``config/membership.yaml``, never written by hand:
the FAQ's overview of the tiers, and "what member am I" with the contact's own tier,
spend (or points) and what the next tier needs."""

from __future__ import annotations

from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from config.i18n import Templates
from config.membership import Basis, Membership, Mode, Tier, membership_from
from handlers.words import asks_own_membership
from schedules.membership import tier_value
from storage import contacts, membership, orders

MEMBERSHIP_FAQ = "membership"
"""The FAQ entry whose answer is generated here."""


def overview(rules: Membership, templates: Templates, language: str, shop_name: str) -> str:
    """Every tier with what it takes and its benefits, in ``language``."""
    separator = "；" if language == "zh-CN" else "; "
    tiers = separator.join(_tier_line(rules, tier, templates, language) for tier in rules.tiers)
    notes = [
        templates.render("membership_overview_points", language, per=f"{rules.points_per_unit:g}")
    ]
    if rules.basis is not Basis.POINTS:
        notes = []
    if rules.mode is Mode.UPGRADE_AND_DOWNGRADE:
        notes.append(
            templates.render("membership_overview_window", language, days=f"{rules.window_days:g}")
        )
    text = templates.render("membership_overview", language, shop_name=shop_name, tiers=tiers)
    return " ".join([text, *notes])


def _tier_line(rules: Membership, tier: Tier, templates: Templates, language: str) -> str:
    if tier.min <= 0:
        threshold = templates.text("membership_threshold_first_order", language)
    else:
        key = f"membership_threshold_{rules.basis.value}"
        threshold = templates.render(key, language, min=f"{tier.min:g}")
    benefits = tier.benefit(language)
    if tier.birthday_wishes:
        wishes = templates.text("membership_birthday_if_recorded", language)
        benefits = (
            f"{benefits}{'、' if language == 'zh-CN' else ', '}{wishes}" if benefits else wishes
        )
    return templates.render(
        "membership_tier_line", language, tier=tier.name(language), threshold=threshold,
        benefits=benefits,
    )  # fmt: skip


async def my_membership(message: InboundMessage, ctx: Context) -> bool:
    """Claim "what member am I" and answer with the contact's own standing."""
    if message.kind is not MessageKind.TEXT or not asks_own_membership(message.text):
        return False
    rules = membership_from(ctx.settings.membership_file)
    ledger = await orders.ledger(ctx.redis, ctx.ref.id)
    value = tier_value(ledger, rules, ctx.now)
    tier = rules.tier(await membership.tier_of(ctx.redis, ctx.ref.id))
    birthday = (await contacts.get(ctx.redis, ctx.ref.id) or ctx.contact).birthday is not None
    if tier is None:
        entry = rules.tiers[0]
        benefits = entry.benefit(ctx.language, birthday=birthday)
        ctx.reply(
            ctx.render("my_membership_none", tier=entry.name(ctx.language), benefits=benefits)
        )
        return True
    lines = [
        ctx.render(
            f"my_membership_{rules.basis.value}",
            tier=tier.name(ctx.language),
            value=f"{value:g}",
            benefits=tier.benefit(ctx.language, birthday=birthday),
        )
    ]
    following = next(
        (t for t in rules.tiers if t.min > value and rules.rank(t.id) > rules.rank(tier.id)), None
    )
    if following is None:
        lines.append(ctx.render("my_membership_top"))
    else:
        lines.append(
            ctx.render(
                f"my_membership_next_{rules.basis.value}",
                missing=f"{following.min - value:g}",
                tier=following.name(ctx.language),
                benefits=following.benefit(ctx.language, birthday=birthday),
            )
        )
    ctx.reply("".join(lines))
    return True
