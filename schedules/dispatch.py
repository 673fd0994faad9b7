"""One dispatch pass: claim due follow-ups, apply the sending rules, send, record the outcome.

For each claimed item, in order: an item past its ``expires_at`` (or that quiet hours
would push past it) is skipped as ``expired``; the contact must be reachable; a
transactional item marked ``quiet`` (non-urgent care) waits for the end of quiet hours;
a marketing item
must not be opted out of (marketing, plus its own category such as repurchase),
is moved out of quiet hours and must fit the weekly cap (the claim took a slot, or
says when one frees). The text is rendered in the contact's language and sent with
the follow-up id as idempotency key; the channel's rules (WeChat's 48-hour window,
Telegram reachability) are checked once, by its ``send``, which raises ``Refused``
(the item is skipped with that reason) when they do not allow it. A pass makes two
Redis round trips per batch: the claim (which also brings the contact's profile fields
and opt-outs) and the record of every outcome; a few batches are in hand at once, so
the client's work overlaps the server's.

Exactly once: see ``docs/followups.md``. In short, a claim holds a lease and a
fencing token; an item whose holder died is claimed again after the lease and sent
again, and the channel drops that second send by its idempotency key when the first
went out (``storage.send_claims``). A send claim someone else still holds postpones
the item; one whose outcome is unknown finishes it as ``uncertain``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from redis.asyncio import Redis

from bot import payloads
from bot.messages import (
    Button,
    ContactRef,
    DeliveryError,
    OutboundMessage,
    Outlet,
    Purpose,
    Refused,
)
from bot.redact import scrub_error
from config.catalog import Catalog, default_catalog
from config.followup_rules import FollowupRules, rules_from
from config.i18n import Templates, default_templates
from config.placeholders import fill, placeholders
from config.settings import Settings
from schedules.lifecycle import EXPIRES_AT, WAITS_FOR_QUIET_END
from schedules.sending_rules import SendingRules
from storage import followups, send_claims
from storage.followups import Addressee, Cap, Claimed, FollowupRetry, Outcome, State
from storage.optouts import OptOutCategory
from storage.timestamps import to_epoch

log = logging.getLogger(__name__)

WEEK_S = 7 * 86_400
SEND_CONCURRENCY = 32
LANES = 6
"""Batches one pass holds at once (claimed, not yet recorded)."""
YIELD_EVERY = 50
"""Items rendered (or sent, per sending worker) between two returns to the event loop:
other lanes' replies are read and their next requests sent meanwhile, so Redis is not
left idle while a batch is rendered or sent to an outlet that answers at once."""
_MARKETING = Purpose.MARKETING
_PURPOSE_OF = {purpose.value: purpose for purpose in Purpose}
"""A stored purpose (text) as the message's ``Purpose`` (a dict: cheaper per item)."""


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """The sending rules and queue parameters of a dispatcher."""

    rules: SendingRules
    lease_s: int = 60
    retry: FollowupRetry = field(default_factory=FollowupRetry)
    keep_s: int = followups.DEFAULT_KEEP_S
    batch: int = 200
    language: str = "zh-CN"
    shop_name: str = "Shopbot"

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchPolicy:
        """The policy the settings describe."""
        return cls(
            rules=SendingRules.from_settings(settings),
            lease_s=settings.followup_lease_s,
            retry=FollowupRetry(
                settings.followup_max_attempts,
                settings.followup_retry_base_s,
                settings.followup_retry_cap_s,
            ),
            keep_s=settings.followup_keep_days * 86_400,
            batch=settings.followup_batch,
            language=settings.language,
            shop_name=settings.shop_name,
        )


@dataclass
class PassReport:
    """What one pass did; ``results`` maps each item handled to its outcome, in order.

    A dict, not a list of pairs: a pass may handle 100,000 items, and one container per
    item would cost the garbage collector more than the pass's own work."""

    claimed: int = 0
    sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    postponed: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    dead: int = 0
    uncertain: int = 0
    """Sends whose outcome is unknown: never sent again, never counted as sent."""
    stale: int = 0
    results: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Job:
    """One claimed item on its way through the pass."""

    claimed: Claimed
    message: OutboundMessage | None = None
    outcome: Outcome | None = None

    def finish(self, state: State, reason: str = "") -> None:
        self.outcome = Outcome(self.claimed, state, reason)

    def sent(self) -> None:
        self.outcome = Outcome(self.claimed, State.SENT)

    def postpone(self, until: datetime, reason: str) -> None:
        self.outcome = Outcome(self.claimed, reason=reason, postpone_to=until)

    def retry(self, error: str) -> None:
        self.outcome = Outcome(self.claimed, retry_error=error)


@dataclass(frozen=True, slots=True)
class _Template:
    """A follow-up template in one language, prepared to fill: its text, the fields it
    names, its buttons as ``(action, label)`` pairs, the name to use for a nameless contact."""

    name: str
    language: str
    text: str
    placeholders: frozenset[str]
    buttons: tuple[tuple[str, str], ...]
    name_fallback: str


class FollowupDispatcher:
    """Runs dispatch passes; any number may run at once on one Redis."""

    def __init__(
        self,
        redis: Redis,
        outlet: Outlet,
        policy: DispatchPolicy,
        *,
        rules: FollowupRules | None = None,
        templates: Templates | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.redis = redis
        self.outlet = outlet
        self.policy = policy
        self.rules = rules or rules_from(None)
        self.templates = templates or default_templates()
        self.catalog = catalog or default_catalog()
        self._prepared: dict[tuple[str, str], _Template] = {}
        self._cap = Cap(policy.rules.weekly_cap, WEEK_S)
        self._stopping = False

    def stop_claiming(self) -> None:
        """On the way out: passes finish the batches in hand and claim no more."""
        self._stopping = True

    @classmethod
    def from_settings(cls, redis: Redis, outlet: Outlet, settings: Settings) -> FollowupDispatcher:
        """A dispatcher with the settings' policy and rules file."""
        policy = DispatchPolicy.from_settings(settings)
        return cls(redis, outlet, policy, rules=rules_from(settings.followup_rules))

    async def run_due(self, now: datetime) -> PassReport:
        """Handle every item due by ``now``, batch by batch, as if it were ``now``.

        ``LANES`` batches are in hand at once: while one lane waits on Redis, another
        renders or sends. Lanes claim like separate dispatchers (exactly once holds the same).
        """
        report = PassReport()
        await asyncio.gather(*(self._lane(now, report) for _ in range(LANES)))
        return report

    async def _lane(self, now: datetime, report: PassReport) -> None:
        """Claim, handle and record batch after batch until a claim comes back short
        (or the dispatcher is stopping)."""
        while not self._stopping and (batch := await self._claim(now)):
            report.claimed += len(batch)
            await self._record(await self._handle(batch, now), now, report)
            if len(batch) < self.policy.batch:
                return

    async def _claim(self, now: datetime) -> list[Claimed]:
        policy = self.policy
        return await followups.claim_due(
            self.redis, now, policy.batch, policy.lease_s, self._cap, policy.keep_s
        )

    async def _handle(self, batch: Sequence[Claimed], now: datetime) -> list[Outcome]:
        """Apply the rules, render and send; the outcome of every item."""
        jobs = [_Job(claimed) for claimed in batch]
        quiet_until = self.policy.rules.quiet_until(now)
        for n, job in enumerate(jobs):
            self._apply_rules(job, now, quiet_until)
            if job.outcome is None:
                self._render(job)
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
        await _each([job for job in jobs if job.outcome is None], self._deliver)
        return [job.outcome for job in jobs if job.outcome is not None]

    async def _record(self, finished: list[Outcome], now: datetime, report: PassReport) -> None:
        answers = await followups.record_outcomes(self.redis, finished, now, self.policy.retry)
        for outcome, answer in zip(finished, answers, strict=True):
            _tally(report, outcome, answer)

    def _apply_rules(self, job: _Job, now: datetime, quiet_until: datetime | None) -> None:
        """The contact's and the clock's rules; ``quiet_until`` ends the current quiet hours."""
        item = job.claimed
        addressee = item.addressee
        waits = item.purpose == _MARKETING or bool(item.data.get(WAITS_FOR_QUIET_END))
        if _expired(item.data, (quiet_until if waits else None) or now):
            job.finish(State.SKIPPED, "expired")  # Never weeks late, nor after quiet hours.
        elif addressee.unreachable:
            job.finish(State.SKIPPED, f"unreachable: {addressee.unreachable}")
        elif item.purpose != _MARKETING:
            if quiet_until is not None and waits:
                job.postpone(quiet_until, "quiet hours")
        elif blocked := addressee.opted_out & _categories(item.optout):
            job.finish(State.SKIPPED, f"opted out of {min(blocked).value}")
        elif quiet_until is not None:
            job.postpone(quiet_until, "quiet hours")
        elif item.cap_frees_at is not None:
            job.postpone(max(item.cap_frees_at, now + timedelta(seconds=1)), "weekly cap")

    def _render(self, job: _Job) -> None:
        item = job.claimed
        addressee = item.addressee
        language = addressee.language or self.policy.language
        try:
            template = self._template(item.template, language)
            fields = self._fields(item.data, addressee, template)
            body = fill(template.text, fields, blank_missing=True)
        except (KeyError, ValueError, IndexError) as exc:
            job.finish(State.SKIPPED, f"template {item.template!r}: {exc}")
            return
        job.message = OutboundMessage(
            recipient=ContactRef.parse(item.contact_id),
            text=body,
            purpose=_PURPOSE_OF[item.purpose],
            buttons=self._buttons(template, item.data),
            idempotency_key=item.id,
        )

    def _template(self, name: str, language: str) -> _Template:
        """The template ``name`` in ``language``, prepared once per dispatcher."""
        key = (name, language)
        template = self._prepared.get(key)
        if template is None:
            texts = self.rules.templates if name in self.rules.templates else self.templates
            text = texts.text(name, language)
            template = self._prepared[key] = _Template(
                name,
                language,
                text,
                placeholders(text),
                tuple(
                    (action, self.rules.templates.text(f"{name}.{action}", language))
                    for action in self.rules.buttons.get(name, ())
                ),
                self.templates.text("followup_name_fallback", language),
            )
        return template

    def _fields(
        self, data: Mapping[str, Any], addressee: Addressee, template: _Template
    ) -> dict[str, object]:
        """The item's data plus the derived fields its template names."""
        fields: dict[str, object] = dict(data)
        wanted = template.placeholders
        if "shop_name" in wanted:
            fields["shop_name"] = self.policy.shop_name
        if "name" in wanted:
            fields["name"] = addressee.display_name or template.name_fallback
        if "items" in wanted:
            fields["items"] = self._items(data.get("items", ()), template.language)
        if "product" in wanted:
            sku = data.get("sku")
            product = self.catalog.get(sku) if sku else None
            fields["product"] = product.name(template.language) if product else (sku or "")
        if "usage_tip" in wanted:
            fields["usage_tip"] = self._usage_tips(data.get("items", ()), template.language)
        if "amount" in wanted and "amount" in data:
            fields["amount"] = f"{float(data['amount']):.2f}"
        return fields

    def _items(self, items: Sequence[Sequence[Any]], language: str) -> str:
        names = []
        for sku, quantity, *stored in items:
            product = self.catalog.get(sku)
            name = product.name(language) if product else (stored[0] if stored else sku)
            names.append(f"{name} ×{quantity}" if quantity > 1 else name)
        return ("、" if language == "zh-CN" else ", ").join(names)

    def _usage_tips(self, items: Sequence[Sequence[Any]], language: str) -> str:
        """The catalogue's usage tip of each product in ``items``, one line each ("" if none)."""
        lines = []
        for sku, *_ in items:
            product = self.catalog.get(sku)
            tip = product.usage_tip(language) if product else None
            if product and tip:
                name = product.name(language)
                lines.append(
                    self.templates.render("usage_tip_line", language, product=name, tip=tip)
                )
        return "".join(lines)

    @staticmethod
    def _buttons(template: _Template, data: Mapping[str, Any]) -> tuple[Button, ...]:
        ruled: tuple[Button, ...] = ()
        if template.buttons:
            ref = data.get("sku") or data.get("order_id")
            ruled = tuple(
                Button(label, payloads.followup(template.name, action, str(ref)))
                for action, label in template.buttons
            )
        # Items may carry ready-made buttons ([label, payload] pairs): campaigns do.
        if "buttons" not in data:
            return ruled
        return ruled + tuple(Button(label, payload) for label, payload in data["buttons"])

    async def _deliver(self, job: _Job) -> None:
        """Send under the channel's rules; the job's outcome says how it went."""
        message = job.message
        if message is None:  # rendering finishes the job whenever it sets no message
            job.finish(State.SKIPPED, "no message was rendered")
            return
        try:
            await self.outlet.send(message)
        except Refused as exc:
            job.finish(State.SKIPPED, str(exc) or "not allowed by the channel")
            return
        except send_claims.Held as exc:
            job.postpone(exc.until, "another sender holds it")
            return
        except send_claims.Uncertain as exc:
            job.finish(State.UNCERTAIN, str(exc))
            return
        except DeliveryError as exc:
            job.retry(str(exc) or "delivery failed")
            return
        except Exception as exc:  # An outlet bug must not strand the rest of the batch.
            log.exception("sending follow-up %s failed", job.claimed.id)
            job.retry(f"{type(exc).__name__}: {scrub_error(exc)}")
            return
        job.sent()


async def _each(jobs: Sequence[_Job], step: Callable[[_Job], Awaitable[None]]) -> None:
    """Run ``step`` on every job, at most ``SEND_CONCURRENCY`` at once.

    A fixed set of workers takes jobs in turn: far cheaper than one task per job when
    the outlet answers at once, and as concurrent when it waits on the network.
    """
    queue = iter(jobs)

    async def worker() -> None:
        for n, job in enumerate(queue):
            await step(job)
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(min(SEND_CONCURRENCY, len(jobs)))))


def _expired(data: Mapping[str, Any], send_at: datetime) -> bool:
    """True when an item with an ``expires_at`` could only go out after it."""
    expires_at = data.get(EXPIRES_AT)
    return expires_at is not None and to_epoch(send_at) > float(expires_at)


@lru_cache(maxsize=16)
def _categories(extra: str | None) -> frozenset[OptOutCategory]:
    """Marketing, plus the item's own category (``repurchase``) when it names a known one."""
    known = {category.value: category for category in OptOutCategory}
    return frozenset({OptOutCategory.MARKETING} | ({known[extra]} if extra in known else set()))


def _tally(report: PassReport, outcome: Outcome, answer: str) -> None:
    item_id = outcome.claimed.id
    if answer == "stale":
        report.stale += 1
        return
    if outcome.state is State.SENT:
        report.sent += 1
        report.results[item_id] = "sent"
    elif outcome.state is State.UNCERTAIN:
        report.uncertain += 1
        report.results[item_id] = f"uncertain: {outcome.reason}"
    elif outcome.state is State.SKIPPED:
        report.skipped[outcome.reason] += 1
        report.results[item_id] = f"skipped: {outcome.reason}"
    elif outcome.postpone_to is not None:
        report.postponed[outcome.reason] += 1
        report.results[item_id] = f"postponed ({outcome.reason}) to {outcome.postpone_to}"
    elif answer == "dead":
        report.dead += 1
        report.results[item_id] = f"dead: {outcome.retry_error}"
    else:
        report.retried += 1
        report.results[item_id] = f"retry: {outcome.retry_error}"
