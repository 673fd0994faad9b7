"""Every button payload the bot offers, built and parsed in one place, as ``storage/keys.py``
builds keys.

A payload is the text a pressed button sends back (Telegram's ``callback_data``, WeChat's
numbered choice, the terminal's pick). Each kind has one builder here, and :func:`parse`
turns a payload back into a small frozen dataclass that responders ``match`` on:

==============================  =====================  ==================================
payload                         built by               parsed as
==============================  =====================  ==================================
``faq:<entry id>``              :func:`faq`            :class:`FaqPayload`
``campaign:<id>:<n>``           :func:`campaign`       :class:`CampaignPayload`
``rate:<n>:<ref>``              :func:`rate`           :class:`RatePayload`
``order:<intent>:<order id>``   :func:`order`          :class:`OrderPayload`
``handoff``                     :data:`HANDOFF`        :class:`HandoffPayload`
``<template>:<action>:<ref>``   :func:`followup`       :class:`FollowupPayload`
==============================  =====================  ==================================

A follow-up rule's buttons are ``<rule>:<action>:<ref>``; the ``rate`` rule's come back as
:class:`RatePayload` (its actions are the scores). The codec lives in ``bot/`` next to
``bot/messages.py`` because both ``handlers/`` and ``schedules/`` build payloads and
``schedules/`` may not import ``handlers/``. Payloads a shop writes itself (a FAQ entry's
``payload:`` in the knowledge base) pass through as text; :func:`parse` reads them like any
other, so ``handoff`` there asks for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

FAQ = "faq"
CAMPAIGN = "campaign"
RATE = "rate"
ORDER = "order"
HANDOFF = "handoff"
"""The payload of the "talk to a person" button."""
_SEP = ":"


@dataclass(frozen=True, slots=True)
class FaqPayload:
    """Answer the knowledge base's entry ``entry_id``."""

    entry_id: str


@dataclass(frozen=True, slots=True)
class CampaignPayload:
    """Button ``number`` (from 1) of campaign ``campaign_id``."""

    campaign_id: str
    number: int


@dataclass(frozen=True, slots=True)
class RatePayload:
    """A rating ``score`` of ``ref`` (a ticket id or an order id)."""

    score: int
    ref: str


@dataclass(frozen=True, slots=True)
class OrderPayload:
    """The customer chose order ``order_id`` for the question ``intent``."""

    intent: str
    order_id: str


@dataclass(frozen=True, slots=True)
class HandoffPayload:
    """The customer asks for a person."""


@dataclass(frozen=True, slots=True)
class FollowupPayload:
    """Answer ``action`` to follow-up rule ``template`` about ``ref`` (a SKU or an order id)."""

    template: str
    action: str
    ref: str


Payload = (
    FaqPayload | CampaignPayload | RatePayload | OrderPayload | HandoffPayload | FollowupPayload
)


def faq(entry_id: str) -> str:
    """``faq:<entry id>``: answers that knowledge-base entry."""
    return f"{FAQ}{_SEP}{entry_id}"


def campaign(campaign_id: str, number: int) -> str:
    """``campaign:<id>:<n>``: button ``number`` (from 1) of a campaign."""
    return _SEP.join((CAMPAIGN, campaign_id, str(number)))


def rate(score: int, ref: str) -> str:
    """``rate:<n>:<ref>``: rates ``ref`` with ``score``."""
    return _SEP.join((RATE, str(score), ref))


def order(intent: str, order_id: str) -> str:
    """``order:<intent>:<order id>``: the order a question is about."""
    return _SEP.join((ORDER, intent, order_id))


def followup(template: str, action: str, ref: str) -> str:
    """``<template>:<action>:<ref>``: an answer to a follow-up rule's message."""
    return _SEP.join((template, action, ref))


def parse(payload: str | None) -> Payload | None:
    """What ``payload`` asks for, or None for text that is no payload of ours."""
    if payload == HANDOFF:
        return HandoffPayload()
    kind, _, rest = (payload or "").partition(_SEP)
    if kind == FAQ:
        return FaqPayload(rest) if rest else None
    first, _, last = rest.partition(_SEP)
    if not (kind and first and last):
        return None
    match kind:
        case "campaign":
            return CampaignPayload(first, int(last)) if last.isascii() and last.isdigit() else None
        case "rate":
            return RatePayload(int(first), last) if len(first) == 1 and first.isdecimal() else None
        case "order":
            return OrderPayload(first, last)
        case _:
            return FollowupPayload(kind, first, last)
