"""The message types every layer shares. Nothing here knows about a platform.

Channel adapters turn platform updates into :class:`InboundMessage` and render
:class:`OutboundMessage`; handlers only ever see these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.redact import scrub


class MessageKind(StrEnum):
    """What an inbound message is, independent of the platform."""

    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    EVENT = "event"
    MEDIA = "media"


class Purpose(StrEnum):
    """Why a message is sent; decides which sending rules apply.

    ``reply`` answers a customer who just wrote; ``transactional`` is about an
    order or ticket the customer has (never blocked by a marketing opt-out);
    ``marketing`` honours opt-out, quiet hours and caps.
    """

    REPLY = "reply"
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


@dataclass(frozen=True, slots=True)
class ContactRef:
    """A person on one channel: ``(channel, external_id)``, never a display name."""

    channel: str
    external_id: str

    def __post_init__(self) -> None:
        if not self.channel or ":" in self.channel or not self.external_id:
            raise ValueError(f"invalid contact reference {self.channel!r}:{self.external_id!r}")

    @property
    def id(self) -> str:
        """The stable string form, ``channel:external_id``."""
        return f"{self.channel}:{self.external_id}"

    @classmethod
    def parse(cls, text: str) -> ContactRef:
        """Parse ``channel:external_id``; raises ``ValueError`` on anything else."""
        channel, sep, external_id = text.strip().partition(":")
        if not sep:
            raise ValueError(f"expected channel:id, got {text!r}")
        return cls(channel, external_id)

    def __str__(self) -> str:
        return self.id


class MediaKind(StrEnum):
    """What a customer's attachment is, independent of the platform."""

    PHOTO = "photo"
    VOICE = "voice"
    VIDEO = "video"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A photo, voice message, video or file as the platform holds it.

    ``ref`` is the platform's own handle (a WeChat ``MediaId``, a Telegram ``file_id``)
    and only means something on ``channel``: a channel sends it natively to a recipient
    on that channel, and names it in the text everywhere else.
    """

    kind: MediaKind
    channel: str
    ref: str

    def __str__(self) -> str:
        return f"{self.kind} {self.channel}:{self.ref}"


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the customer. ``payload`` comes back when it is pressed."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message or event from a customer or owner, as every handler sees it.

    ``id`` is unique per channel (Telegram update id, WeChat MsgId, ...) and is
    what the dispatcher dedupes on. ``chat_id`` is where a reply goes; it differs
    from the contact's id in group chats. ``payload`` carries a button's payload
    or a command's argument text. ``raw`` is the platform payload, for debugging only.
    """

    id: str
    contact: ContactRef
    chat_id: str
    kind: MessageKind
    received_at: datetime
    text: str = ""
    command: str | None = None
    payload: str | None = None
    event: str | None = None
    event_key: str | None = None
    language_hint: str | None = None
    display_name: str | None = None
    attachment: Attachment | None = None
    """The photo, voice, video or file of a ``media`` message, when the platform gave one."""
    source: str | None = None
    """Where the contact says it came from (a Telegram ``/start`` deep link's payload)."""
    raw: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class SendCheck:
    """Whether a channel may send a message now, and why not (or how: ``via``).

    ``via`` names the route a channel would take (e.g. WeChat's ``custom`` message
    inside the 48-hour window, or ``template`` outside it).
    """

    allowed: bool
    reason: str = ""
    via: str = ""


class DeliveryError(RuntimeError):
    """A message could not be delivered; the text says why (scrubbed of secrets and URLs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(scrub(reason))


class Refused(DeliveryError):
    """The channel's rules do not allow the message now (what :meth:`Outlet.check` would
    say: a closed window, a contact who blocked the bot): nothing was sent, and trying
    again soon will not help. A follow-up is skipped with this reason."""


class Outlet(Protocol):
    """Where outbound messages go: every channel, and ``bot.delivery.Delivery`` (which
    routes by channel and is where follow-ups go out).

    ``send`` drops a message whose ``idempotency_key`` it already sent: a follow-up whose
    dispatcher died after sending is claimed again and sent again. It raises
    ``storage.send_claims.Held`` while another sender holds the key (the item is
    postponed) and ``Uncertain`` when the send's outcome is unknown (the item ends so).
    """

    async def check(self, message: OutboundMessage) -> SendCheck:
        """Whether ``message`` may be sent now under its channel's rules (no side effects)."""

    async def send(self, message: OutboundMessage) -> None:
        """Deliver ``message`` or raise :class:`DeliveryError` (:class:`Refused` when the
        channel's rules do not allow it: ``send`` checks them itself)."""


class EventSink(Protocol):
    """Where a channel reports what it does not dispatch: the platform facts about a contact.

    A channel only carries; what these facts mean for a contact is written by the
    implementation the app passes in (``handlers.platform_events.PlatformEvents``).
    Each method lets a Redis error out, so the channel lets the platform redeliver.
    """

    async def record(self, event: InboundMessage) -> None:
        """An update that is no conversation (kind ``EVENT``: ``blocked``, ``unblocked``,
        ``unsubscribe``, ``templatesendjobfinish``), recorded once per message id."""

    async def unreachable(self, contact: ContactRef, reason: str) -> None:
        """A send found that ``contact`` can no longer be reached (blocked, unsubscribed)."""

    async def sent(self, message: OutboundMessage) -> None:
        """``message`` went out (or is the passive answer about to go out)."""


def parse_command(text: str) -> tuple[str, str] | None:
    """Split ``/name@bot args`` into ``("name", "args")``; None if ``text`` is no command."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    head, _, args = stripped[1:].partition(" ")
    name = head.partition("@")[0].lower()
    return (name, args.strip()) if name else None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message to send. The channel renders ``buttons`` natively or as numbered text.

    ``idempotency_key`` lets a sender drop a second send of the same message
    (a retry after a crash, a duplicate follow-up): every channel sends it at most
    once per recipient and key (:mod:`storage.send_claims`). ``image`` is the path of a
    picture to show with the text (a chart); channels without native pictures
    show the path (the text should name it too). ``attachment`` is a customer's media
    forwarded as it is: sent natively after the text on its own channel, named in the
    text elsewhere.
    """

    recipient: ContactRef
    text: str
    purpose: Purpose = Purpose.REPLY
    buttons: tuple[Button, ...] = ()
    chat_id: str | None = None
    idempotency_key: str | None = None
    image: str | None = None
    attachment: Attachment | None = None

    @property
    def target_chat(self) -> str:
        """The chat to deliver to: ``chat_id`` when set, else the recipient's own chat."""
        return self.chat_id or self.recipient.external_id
