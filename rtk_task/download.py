"""Downloads: a successful answer's body written to a file (``save_to``), whole or not at all.

The body goes to a temporary file beside the target, at most ``cap`` bytes and within the
call's deadline, and is moved onto the target only when complete; a failed or cut answer
removes the temporary file and leaves any old file as it was.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .execute import DeadlinePassed, ResponseTooLarge

if TYPE_CHECKING:
    from .retry import Send

__all__ = ["DEFAULT_MAX_DOWNLOAD", "Download"]

#: The most bytes a download (``save_to``) writes unless the client says otherwise (1 GiB).
DEFAULT_MAX_DOWNLOAD = 1024 * 1024 * 1024


class Download:
    """A body written to a temporary file beside ``path``, moved onto it when complete: a
    download is there whole or not at all (a failed or cut answer leaves the old file)."""

    def __init__(self, path: Path, cap: int) -> None:
        self.path, self.cap, self.written = path, cap, 0
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
        self._file = os.fdopen(handle, "wb")
        self._temp: Path | None = Path(name)

    def write(self, chunk: bytes, send: Send) -> None:
        self.written += len(chunk)
        if self.written > self.cap:
            raise ResponseTooLarge(f"the download passed {self.cap} bytes")
        if send.deadline is not None and time.monotonic() - send.started > send.deadline:
            raise DeadlinePassed(f"the deadline ({send.deadline:g} s) passed while reading")
        self._file.write(chunk)

    def close(self) -> None:
        self._file.close()
        assert self._temp is not None
        os.replace(self._temp, self.path)
        self._temp = None

    def discard(self) -> None:
        """Remove the temporary file of a download that did not complete."""
        self._file.close()
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None
