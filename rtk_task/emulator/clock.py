"""The emulator's clock: real time plus an offset that tests can move forward.

Everything in the emulator that changes over time (recordings moving from INVOKED to
UPLOADED, timestamps) reads :meth:`Clock.now`. :meth:`Clock.advance` moves it forward without
waiting, so a test drives a recording through its states in microseconds; without advancing,
the states move in real time after the configured delays.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

__all__ = ["Clock"]


class Clock:
    """Seconds since the epoch, as real time plus an offset that only grows; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0

    def now(self) -> float:
        """The emulator's time in seconds since the epoch."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (negative values are refused: time does not go back)."""
        if not seconds >= 0 or seconds == float("inf"):  # NaN fails every comparison
            raise ValueError("the clock only moves forward, by a finite number of seconds")
        with self._lock:
            self._offset += seconds

    def stamp(self, at: float | None = None) -> str:
        """A time as the API writes it: ISO 8601, UTC, milliseconds, with Z."""
        moment = datetime.fromtimestamp(self.now() if at is None else at, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
