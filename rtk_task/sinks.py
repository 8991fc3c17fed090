"""Where an answer's body goes while it is read: kept in memory, or written to a file.

Used as a context manager (what an unfinished read left is dropped on the way out), every
chunk passes :meth:`Sink.write`, which stops the read past the sink's size cap
(:class:`~rtk_task.execute.ResponseTooLarge`) or past the call's deadline, however slowly the
server drips (:class:`~rtk_task.execute.DeadlinePassed`). :class:`Body` keeps the bytes for
parsing; :class:`Download` (``save_to``) writes them to a temporary file beside the target and
moves it onto the target only when complete: a download is there whole or not at all, and a
failed or cut answer leaves any old file as it was.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

from .errors import Problem
from .execute import DeadlinePassed, ResponseTooLarge

if TYPE_CHECKING:
    from .retry import Send

__all__ = ["DEFAULT_MAX_DOWNLOAD", "Body", "Download", "Sink", "download_problem"]

#: The most bytes a download (``save_to``) writes unless the client says otherwise (1 GiB).
DEFAULT_MAX_DOWNLOAD = 1024 * 1024 * 1024


def download_problem(path: Path) -> Problem | None:
    """Why a download cannot be written to ``path`` (checked before anything is sent)."""
    folder = path.parent
    if not folder.is_dir():
        return Problem("save_to", f"the folder {str(folder)!r} does not exist", "create it first")
    if path.is_dir():
        return Problem("save_to", f"{str(path)!r} is a folder", "name a file inside it")
    if not os.access(folder, os.W_OK):
        return Problem("save_to", f"the folder {str(folder)!r} is not writable", "")
    return None


class Sink:
    """Takes a body chunk by chunk, at most ``cap`` bytes, within ``send``'s deadline."""

    #: What passing the cap is called, with ``{cap}``.
    too_large = "more than {cap} bytes"

    def __init__(self, cap: int, send: Send) -> None:
        self.cap, self.send, self.size = cap, send, 0

    def write(self, chunk: bytes) -> None:
        """Take ``chunk``, or stop the read (past the cap, past the deadline)."""
        self.size += len(chunk)
        if self.size > self.cap:
            raise ResponseTooLarge(self.too_large.format(cap=self.cap))
        send = self.send
        if send.deadline is not None and time.monotonic() - send.started > send.deadline:
            raise DeadlinePassed(f"the deadline ({send.deadline:g} s) passed while reading")
        self._keep(chunk)

    def _keep(self, chunk: bytes) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """The whole body is in."""

    def discard(self) -> None:
        """Drop what a read that did not finish left (after :meth:`finish`: nothing)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    @property
    def body(self) -> bytes:
        """The bytes to parse (none for a download)."""
        return b""

    @property
    def saved(self) -> int | None:
        """The bytes written to a file (``None``: the body was kept to parse)."""
        return None


class Body(Sink):
    """The body kept in memory, to be parsed."""

    def __init__(self, cap: int, send: Send) -> None:
        super().__init__(cap, send)
        self._raw = bytearray()

    def _keep(self, chunk: bytes) -> None:
        self._raw += chunk

    @property
    def body(self) -> bytes:
        return bytes(self._raw)


class Download(Sink):
    """The body written to a temporary file beside ``path``, moved onto it when complete."""

    too_large = "the download passed {cap} bytes"

    def __init__(self, path: Path, cap: int, send: Send) -> None:
        super().__init__(cap, send)
        self.path = path
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
        self._file = os.fdopen(handle, "wb")
        self._temp: Path | None = Path(name)

    def _keep(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def finish(self) -> None:
        self._file.close()
        assert self._temp is not None
        os.replace(self._temp, self.path)
        self._temp = None

    def discard(self) -> None:
        self._file.close()
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None

    @property
    def saved(self) -> int | None:
        return self.size
