"""Campaign results from the customer's side: replies within 24 hours, button presses.

:func:`note_campaign_reply` is an observer: any message from a customer who got
a campaign message in the last 24 hours counts as a reply to that campaign.
:func:`campaign_buttons` answers a campaign button (payload ``campaign:<id>:<n>``)
and tells the owners which button the customer pressed.
"""

from __future__ import annotations

from datetime import timedelta

from bot import payloads
from bot.context import Context
from bot.messages import InboundMessage, MessageKind
from handlers.promises import promise
from schedules.campaigns import note_reply
from storage import campaigns


async def note_campaign_reply(message: InboundMessage, ctx: Context) -> None:
    """Credit the campaigns this customer is answering (owners and staff do not count).

    Only a contact some campaign wrote to within the follow-up keep period can be
    answering one; for everyone else this costs no round trip.
    """
    queued = ctx.contact.last_campaign_at
    lookback = timedelta(days=ctx.settings.followup_keep_days)
    if not ctx.is_owner and queued is not None and ctx.now - queued <= lookback:
        await note_reply(ctx.redis, ctx.ref.id, ctx.now)


async def campaign_buttons(message: InboundMessage, ctx: Context) -> bool:
    """Claim a press of a campaign's button; anything else passes on."""
    match message.kind, payloads.parse(message.payload):
        case MessageKind.BUTTON, payloads.CampaignPayload(campaign_id, number):
            campaign = await campaigns.get(ctx.redis, campaign_id)
        case _:
            return False
    if campaign is None or not 1 <= number <= len(campaign.buttons):
        return False
    labels = campaign.buttons[number - 1]
    shop_language = ctx.settings.language
    label = labels.get(shop_language) or next(iter(labels.values()))
    ctx.reply(ctx.render("campaign_button_thanks", promise=promise(ctx)))
    name = ctx.contact.display_name or ""
    customer = f"{ctx.contact.short_id} {name} ({ctx.ref})".replace("  ", " ")
    ctx.notify_owners(
        ctx.templates.render(
            "campaign_button_owner",
            shop_language,
            id=campaign.id,
            name=campaign.name,
            customer=customer,
            label=label,
        )
    )
    return True
