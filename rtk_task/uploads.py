"""The httpx stream of a body with files (:class:`~rtk_task.bodies.Segments`): the files are
read in chunks as the request is sent, afresh on every send (a retry, an OAuth2 resend).

A file that cannot be read to its announced length mid-send is an :class:`httpx.WriteError`
(the server may have part of the request: the call is reported as possibly sent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx

from .bodies import Segments

__all__ = ["UploadStream"]


class UploadStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Streams a :class:`Segments` body to either client."""

    def __init__(self, body: Segments) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.body.chunks()
        except OSError as exc:
            raise httpx.WriteError(f"an upload's file could not be read: {exc}") from None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # chunks of a local file: each read is short, as httpx's own file uploads do
        for chunk in self:
            yield chunk
