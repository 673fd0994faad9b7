"""The terminal channel: chat with the bot as a customer or as the owner.

Contacts are ``console:<name>``; the owner is ``console:owner``. Messages to a
terminal contact (an owner's answer, a follow-up) wait in its mailbox in Redis
and are shown when that contact is in the chat, or next opens it. A message with an
``idempotency_key`` is put there at most once, in one script with its ``sent`` marker
(:func:`storage.mailbox.deliver_once`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from redis.asyncio import Redis
from starlette.routing import BaseRoute

from bot.dispatcher import Finishing, Receive, StorageUnavailable
from bot.messages import (
    Button,
    ContactRef,
    InboundMessage,
    MessageKind,
    OutboundMessage,
    SendCheck,
    parse_command,
)
from bot.roles import CONSOLE_OWNER
from storage import mailbox, send_claims
from storage.timestamps import Clock, utc_now

CHANNEL = "console"
MAILBOX_POLL_S = 1.0
_NAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{1,40}$")


def customer_ref(name: str) -> ContactRef:
    """The terminal contact for ``--as NAME``; ``owner`` is reserved for ``--owner``."""
    if not _NAME.match(name) or name == CONSOLE_OWNER.external_id:
        raise ValueError(f"--as takes a simple name (letters, digits, _.-), not {name!r}")
    return ContactRef(CHANNEL, name)


class ConsoleChannel:
    """Sends to terminal contacts by putting messages in their mailbox."""

    name = CHANNEL
    finishing = Finishing()
    """The chat process prints its replies itself: nothing to keep or decide."""

    def __init__(self, redis: Redis, clock: Clock = utc_now) -> None:
        self._redis = redis
        self._clock = clock

    async def start(self) -> None:
        """Nothing to start: the chat process reads stdin itself."""

    async def stop_receiving(self) -> None:
        """Nothing to stop: the chat process reads stdin itself."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def check(self, message: OutboundMessage) -> SendCheck:
        """A mailbox always accepts mail."""
        return SendCheck(allowed=True, via="mailbox")

    async def send(self, message: OutboundMessage) -> None:
        """Leave the message in the recipient's mailbox (once per idempotency key)."""
        contact_id, key = message.recipient.id, message.idempotency_key
        if not key:
            await mailbox.push(self._redis, contact_id, _to_mail(message))
        elif not await mailbox.deliver_once(
            self._redis, contact_id, key, _to_mail(message), clock=self._clock
        ):
            send_claims.log_duplicate(contact_id, key)

    def routes(self) -> Sequence[BaseRoute]:
        """The terminal serves no HTTP routes."""
        return ()


def _to_mail(message: OutboundMessage) -> dict[str, Any]:
    mail: dict[str, Any] = {
        "text": message.text,
        "buttons": [[b.label, b.payload] for b in message.buttons],
    }
    if message.image:
        mail["image"] = message.image
    if message.attachment:
        mail["attachment"] = str(message.attachment)
    return mail


@dataclass
class ChatSession:
    """One person typing in a terminal; turns lines into inbound messages."""

    contact: ContactRef
    receive: Receive
    redis: Redis
    out: TextIO
    clock: Clock
    buttons: tuple[Button, ...] = field(default=())

    async def say(self, line: str) -> None:
        """Send one typed line to the bot and print what comes back."""
        text = line.strip()
        if not text:
            return
        try:
            result = await self.receive(self._inbound(text))
        except StorageUnavailable as exc:
            print(f"error: Redis is unreachable ({exc}); that message was not handled, "
                  "please send it again.", file=sys.stderr, flush=True)  # fmt: skip
            return
        for reply in result.replies:
            attachment = str(reply.attachment) if reply.attachment else None
            self._print(reply.text, reply.buttons, reply.image, attachment)
        await self.show_mailbox()

    async def show_mailbox(self) -> None:
        """Print whatever waited for this contact."""
        for mail in await mailbox.drain(self.redis, self.contact.id):
            buttons = tuple(Button(label, payload) for label, payload in mail["buttons"])
            self._print(mail["text"], buttons, mail.get("image"), mail.get("attachment"))

    def _inbound(self, text: str) -> InboundMessage:
        common: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "contact": self.contact,
            "chat_id": self.contact.external_id,
            "received_at": self.clock(),
            "text": text,
        }
        if text.isdigit() and 1 <= int(text) <= len(self.buttons):
            pressed = self.buttons[int(text) - 1]
            return InboundMessage(
                kind=MessageKind.BUTTON,
                payload=pressed.payload,
                **(common | {"text": pressed.label}),
            )
        command = parse_command(text)
        if command is not None:
            name, args = command
            return InboundMessage(kind=MessageKind.COMMAND, command=name, payload=args, **common)
        return InboundMessage(kind=MessageKind.TEXT, **common)

    def _print(
        self,
        text: str,
        buttons: tuple[Button, ...],
        image: str | None = None,
        attachment: str | None = None,
    ) -> None:
        print(text, file=self.out)
        if image:
            print(f"[chart: {image}]", file=self.out)
        if attachment:
            # A customer's media lives on its platform: the terminal names it.
            print(f"[attachment: {attachment}]", file=self.out)
        for number, button in enumerate(buttons, start=1):
            print(f"  [{number}] {button.label}", file=self.out)
        if buttons:
            self.buttons = buttons
        self.out.flush()


async def run_chat(session: ChatSession, stdin: TextIO, *, interactive: bool) -> None:
    """Read lines until EOF; while interactive, also show mail as it arrives."""
    await session.show_mailbox()
    poller = asyncio.create_task(_poll_mailbox(session)) if interactive else None
    try:
        while True:
            if interactive:
                print("> ", end="", file=session.out, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            await session.say(line)
    finally:
        if poller is not None:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)


async def _poll_mailbox(session: ChatSession) -> None:
    while True:
        await asyncio.sleep(MAILBOX_POLL_S)
        with contextlib.suppress(*StorageUnavailable):  # shown once Redis is back
            await session.show_mailbox()
