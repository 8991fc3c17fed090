"""Writing files whole or not at all, as an editor would.

:func:`write_atomic` writes through a temporary file and a rename, so a reader sees the old
file or the new one, never a part. The new file gets the mode the old one had, or the usual
mode of a new file (``0666`` minus the umask, so ``0644`` usually; not ``mkstemp``'s ``0600``).
A symlink is followed: the file it points to is rewritten and the link stays a link.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import FileError, Problem

__all__ = ["real_path", "write_atomic"]


def real_path(path: Path) -> Path:
    """``path`` with symlinks followed (the file a write must replace)."""
    return Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never a partial file."""
    path = Path(path)
    target = real_path(path)
    try:
        mode = _mode_for(target)
        fd, tmp = tempfile.mkstemp(
            dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp"
        )
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise FileError(Problem(str(path), f"cannot write: {exc.strerror or exc}")) from None


def _mode_for(target: Path) -> int:
    """The mode ``target`` has now, else the mode a new file gets under this umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)  # reading the umask means setting it: set it straight back
        os.umask(umask)
        return 0o666 & ~umask
