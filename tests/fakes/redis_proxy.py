"""A loopback TCP proxy to the test Redis that can lose one reply, as a network does.

Armed with a marker (a key name), it forwards the next request that contains it to
Redis, lets Redis run it, then drops the reply and closes the client's connection.
redis-py sees a connection error and retries the command, which has already run:
the situation a claim's token must survive.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class ReplyDroppingProxy:
    """Start with :meth:`start` inside a running loop; connect to :attr:`url`."""

    def __init__(self, redis_url: str) -> None:
        self._target = urlsplit(redis_url)
        self._marker: bytes | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropped = 0

    @property
    def url(self) -> str:
        """The proxy's ``redis://`` URL."""
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"redis://{host}:{port}/0"

    async def start(self) -> ReplyDroppingProxy:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        assert self._server is not None
        self._server.close()
        for task in set(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def drop_reply_to(self, marker: str) -> None:
        """Lose the reply to the next request that contains ``marker``."""
        self._marker = marker.encode()

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._target.scheme == "unix":
            return await asyncio.open_unix_connection(self._target.path)
        return await asyncio.open_connection(self._target.hostname, self._target.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self._upstream()
        drop = asyncio.Event()
        replies = asyncio.create_task(self._replies(up_reader, writer, drop))
        self._tasks.add(replies)
        try:
            while data := await reader.read(65536):
                if self._marker is not None and self._marker in data:
                    self._marker = None
                    drop.set()
                up_writer.write(data)
                await up_writer.drain()
        finally:
            replies.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await replies
            self._tasks.discard(replies)
            up_writer.close()
            writer.close()

    async def _replies(
        self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drop: asyncio.Event
    ) -> None:
        while data := await up_reader.read(65536):
            if drop.is_set():  # Redis ran it; the client never hears back.
                self.dropped += 1
                writer.close()
                return
            writer.write(data)
            await writer.drain()
