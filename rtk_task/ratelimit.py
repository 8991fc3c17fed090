"""Client-side rate limits: :class:`RateLimit` (the setting) and :class:`Limiter` (the state).

A limit is ``requests`` per ``per`` seconds for one *key*: an API token (only a digest of
it is kept) and an account, and for a narrower limit its scope (RealtimeKit's recordings).
The limits an API documents are provider data (:meth:`rtk_task.providers.base.Provider.
rate_limits`); a workflow or a client may set its own account-wide one.

What a limit means here, and why keeping to it is safe. The limiter assumes the strictest
common reading: a *sliding window over arrivals*, "no span of ``per`` seconds, wherever it
starts, holds more than ``requests`` arrivals at the server" (the emulator counts that way).
A fixed-window server (counts reset at each window's start) is a special case: its windows
are some of those spans. The server counts a request when it arrives, which the client
cannot see; it only knows the arrival lies between the moment the request left and the
moment its answer came back. So the rule is: **a request leaves only when fewer than
``requests`` of the requests booked before it may still be counted: those whose answer is
out, and those answered less than ``per`` seconds ago**. If ``requests + 1`` arrivals fell
within one span, take the one of them booked last: every other one was booked before it and
arrived less than ``per`` before its arrival, so less than ``per`` before it left or later;
its answer came later still, or was out. All ``requests`` of them were counted when it left:
a contradiction. Hence no 429 from a server that counts as documented, whatever the latency,
with no margin per slot and no guessing; what it costs is one round trip per window (a
window's place opens a window after the answer that freed it), milliseconds against
seconds. It counts answers, not places: one late answer holds back one place, not every
later one (an earlier rule, "``per`` after the answer to every request booked ``requests``
places before", carried each late answer into every later window: a run's windows spread
wider window after window). The only margin is :data:`MARGIN` of the window, for the two
clocks (ours, the server's) running at rates a little apart (NTP slews a clock by at most
0.05 %).

While the window has room, requests leave at once (a burst). Once it is full, the requests
that have to wait are spread at least :data:`PACE` of the average interval (``per /
requests``) apart: released all at the moment a window reopens, they would queue in the
client's own event loop (sending a request and reading its answer cost it about a
millisecond of CPU), come back late, and push every later window back by that delay, window
after window. A quarter of the average interval (2.5 ms at 100 / 1 s) keeps the stream at
well under what client and server drain, while a window's requests still leave within a
quarter of it (the last window's spread is what a run waits past the limit's own time).
Measured end to end (``benchmarks/bench_cli_bulk.py``: ``rtk-task run`` against a threaded
server keeping 100 / 1 s, six runs beside other suites on two cores): 1,000 adds in 9.31-9.76
s from the first request to the last, where the limit allows 9.0 s (9.58-10.12 s with the
earlier rule and half the interval).

The limiter is sans-I/O and books, never sleeps: :meth:`Gate.reserve` books the next free
place under every limit the call falls under and says how long to wait; the flow
(:func:`rtk_task.retry.gated`) yields that wait as a ``Sleep`` and its driver sleeps, so the
sync and async clients behave the same. Bookings are made in order, so concurrent callers
(asyncio tasks, threads: the state is locked) get distinct places and a burst never exceeds
the limit. A wait is planned from what is known when booking; on waking, :meth:`Gate.ready`
checks again (an answer still out, a pause the server ordered meanwhile) and either lets the
request leave or says how much longer to wait; the place stays the same, so a pause never
costs a second booking. :meth:`Gate.observe` records the answer's arrival.

What the server says wins when it says more than we know: a 429 or 503 with ``Retry-After``
pauses every caller of the key until then; a ``ratelimit``/``x-ratelimit-*``/``ratelimit-*``
header saying nothing remains pauses them until the reset, unless our own requests in the
window already account for the whole limit (then the schedule keeps to it anyway, and a reset
rounded up to whole seconds would only cost time). A policy header
(``ratelimit-policy: "default";q=100;w=60``) lower than the configured limit replaces it.

One :class:`Limiter` per process (:func:`shared_limiter`) is shared by every client, step
and item of every run in it; on Temporal and Prefect that is one per worker process, so
several workers on one token each keep to the limit on their own (set a lower
``rate_limit`` per worker if they share an account).
"""

from __future__ import annotations

import bisect
import math
import operator
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from .providers.model import RateLimit, parse_rate

__all__ = [
    "MARGIN",
    "PACE",
    "Booking",
    "Gate",
    "Limiter",
    "RateLimit",
    "parse_rate",
    "retry_after_seconds",
    "server_policy",
    "server_wait",
    "shared_limiter",
    "token_key",
]

#: A request leaves this share of its window later than the bare rule allows: room for the
#: client's and the server's clocks running at slightly different rates, nothing more.
MARGIN = 0.001


#: Requests that have to wait leave at least this share of the limit's average interval
#: (``per / requests``) apart: see the module docstring.
PACE = 0.25


def token_key(token: str | None) -> str:
    """A short digest naming a token in limiter keys (the token itself is never kept in a
    key; the digest of the last few is cached, as every call of a client hashes the same)."""
    if not token:
        return "-"
    return _digest(token)


@lru_cache(maxsize=16)
def _digest(token: str) -> str:
    import hashlib  # here: a dry run (the CLI's start) never keys a limiter

    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(slots=True, eq=False)
class _Place:
    """One request's place under one limit."""

    #: When it may leave (planned), then when it left.
    at: float
    #: Its rank in booking order under this limit.
    index: int = 0
    #: When its answer came back (``None``: still out, or not sent yet).
    done: float | None = None


def _nth_of_two(low: list[float], high: list[float], n: int) -> tuple[float, bool]:
    """The ``n``-th (0-based) smallest of two ascending lists together (``high`` short), and
    whether it is one of ``high``'s."""
    for j in range(max(0, n - len(low)), min(n, len(high)) + 1):
        i = n - j  # i of `low` and j of `high` come before the answer
        if (i == 0 or j == len(high) or low[i - 1] <= high[j]) and (
            j == 0 or i == len(low) or high[j - 1] <= low[i]
        ):
            mine = low[i] if i < len(low) else math.inf
            theirs = high[j] if j < len(high) else math.inf
            return min(mine, theirs), theirs < mine
    raise AssertionError("unreachable: two sorted lists always split")  # pragma: no cover


class _Window:
    """The places of one key: those still out, in booking order, and the latest answers."""

    __slots__ = ("adapted", "booked", "ends", "limit", "paced", "paused_until", "pending", "sent")

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        #: The server declared a stricter limit: it wins over the configured one.
        self.adapted = False
        #: Places booked whose answer is not in (sent or not), in booking order.
        self.pending: list[_Place] = []
        #: When each recent answer stops counting (its time plus the window), ascending: the
        #: latest ``requests`` of them that are still in the future.
        self.ends: list[float] = []
        #: Places booked so far (the next one's :attr:`_Place.index`).
        self.booked = 0
        #: Places sent lately, in the order they left (to tell our own traffic from others').
        self.sent: deque[_Place] = deque()
        self.paused_until = 0.0
        #: The earliest a request that has to wait may be planned (see :data:`PACE`).
        self.paced = float("-inf")

    @property
    def window(self) -> float:
        """The window in seconds, with the clocks' :data:`MARGIN`."""
        return self.limit.per * (1 + MARGIN)

    def set_limit(self, limit: RateLimit) -> None:
        longer = limit.per * (1 + MARGIN) - self.window
        self.limit = limit
        self.ends = [end + longer for end in self.ends[-limit.requests :]]

    def answered(self, place: _Place, now: float) -> None:
        """``place``'s answer came back at ``now`` (or it will never be sent)."""
        if place.done is not None:
            return
        place.done = now
        at = bisect.bisect_left(self.pending, place.index, key=_index)
        if at < len(self.pending) and self.pending[at] is place:
            del self.pending[at]
        ends = self.ends
        bisect.insort(ends, now + self.window)
        # an end already past never counts again; the latest `requests` are all that can
        del ends[: max(bisect.bisect_right(ends, now), len(ends) - self.limit.requests)]

    def book(self, now: float) -> _Place:
        """A new place after every booked one; its ``at`` is a plan, checked again later."""
        place = _Place(now, self.booked)
        self.booked += 1
        at, _ = self.earliest(place, now)
        if at > now:  # the window is full: spread the backlog out (see PACE)
            at = max(at, self.paced)
            self.paced = at + PACE * self.limit.per / self.limit.requests
        place.at = at
        self.pending.append(place)
        return place

    def earliest(self, place: _Place, now: float) -> tuple[float, bool]:
        """When ``place`` may leave as known now, and whether that waits on answers still out.

        It may leave at ``t`` when fewer than ``requests`` of the places booked before it may
        still be counted in a window holding ``t``: those whose answer is out, and those
        answered less than ``per`` before ``t`` (the module docstring says why that is safe).
        An answer still out counts at least until a window after the later of now and its
        planned departure: a plan, checked again on waking (:meth:`Limiter.ready`)."""
        requests = self.limit.requests
        first = bisect.bisect_left(self.pending, place.index, key=_index)
        ends = self.ends
        at = max(now, self.paused_until)
        if first + len(ends) < requests:
            return at, False
        window = self.window
        out = sorted(max(p.at, now) + window for p in self.pending[:first])
        # counting stops for all but `requests - 1` of them at the `requests`-th latest end
        end, waiting = _nth_of_two(ends, out, len(out) + len(ends) - requests)
        return max(at, end), waiting

    def ours(self, since: float, now: float) -> int:
        """Our requests the server may have counted in a window that began after ``since``:
        those whose answer came after it, or has not come yet."""
        horizon = min(since, now - 2 * self.limit.per)
        sent = self.sent
        while sent and sent[0].done is not None and sent[0].done <= horizon:
            sent.popleft()
        return sum(1 for p in sent if p.done is None or p.done > since)


#: A place's rank in booking order, as bisect's key (C-level: called a few times per search).
_index = operator.attrgetter("index")


@dataclass(slots=True, eq=False)
class Booking:
    """One request's places under every limit it falls under (made by :meth:`Limiter.book`)."""

    places: tuple[_Place, ...]
    windows: tuple[_Window, ...]
    #: Seconds to wait, as planned when booked.
    wait: float
    sent: bool = False


class Limiter:
    """Booked places per key, shared by every caller; thread-safe, never sleeps."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        #: Requests booked, and seconds of waiting planned (for tests and benchmarks).
        self.booked = 0
        self.waited = 0.0
        #: Server-ordered pauses obeyed (for tests and benchmarks).
        self.pauses = 0

    def _window(self, key: str, limit: RateLimit) -> _Window:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(limit)
        elif window.limit is not limit and window.limit != limit and not window.adapted:
            window.set_limit(limit)
        return window

    def book(self, limits: Iterable[tuple[str, RateLimit]]) -> Booking:
        """Book one request under every ``(key, limit)``; ``wait`` says how long until it may
        leave (then ask :meth:`ready`)."""
        with self._lock:
            now = self.clock()
            windows = tuple(self._window(key, limit) for key, limit in limits)
            places = tuple(w.book(now) for w in windows)
            at = max((p.at for p in places), default=now)
            for place in places:
                place.at = at
            self.booked += 1
            self.waited += at - now
            return Booking(places, windows, at - now)

    def ready(self, booking: Booking) -> float:
        """0 when ``booking`` may leave now (it is marked sent), else seconds still to wait:
        until a pause ends, or the answers it waits for allow it."""
        with self._lock:
            now = self.clock()
            at, waiting = now, False
            for window, place in zip(booking.windows, booking.places, strict=True):
                when, out = window.earliest(place, now)
                at, waiting = max(at, when), waiting or out
            if at > now:
                return at - now
            if waiting:
                # an answer it waits for is late: look again soon (a slow server, rare)
                return min(0.02 * max(w.limit.per for w in booking.windows), 0.1)
            booking.sent = True
            for window, place in zip(booking.windows, booking.places, strict=True):
                place.at = now
                window.sent.append(place)
            return 0.0

    def answered(self, booking: Booking, at: float | None = None) -> None:
        """The answer to ``booking`` is in (or it was given up): later places may count on it.

        ``at`` (this limiter's clock): when it came, if known to be earlier than now (its
        headers were read before its body and the result were worked out); the earlier it
        is said, the less the next window waits for the client's own work."""
        with self._lock:
            now = self.clock()
            when = now if at is None else min(at, now)
            for window, place in zip(booking.windows, booking.places, strict=True):
                window.answered(place, when)

    def explains(self, booking: Booking) -> bool:
        """Whether our own requests fill a window of some limit of ``booking`` (so a server
        saying nothing remains says nothing the schedule does not already keep to)."""
        with self._lock:
            now = self.clock()
            for window, place in zip(booking.windows, booking.places, strict=True):
                if window.ours(place.at - window.limit.per, now) >= window.limit.requests:
                    return True
            return False

    def paused(self, keys: Iterable[str]) -> float:
        """Seconds until every one of ``keys`` may send again (a server-ordered pause)."""
        with self._lock:
            now = self.clock()
            known = [self._windows[k] for k in keys if k in self._windows]
            until = max((w.paused_until for w in known), default=0.0)
            return max(0.0, until - now)

    def pause(self, keys: Iterable[str], seconds: float) -> None:
        """No request of ``keys`` is sent for ``seconds`` (the server said so)."""
        with self._lock:
            until = self.clock() + seconds
            self.pauses += 1
            for key in keys:
                window = self._windows.get(key)
                if window is not None:
                    window.paused_until = max(window.paused_until, until)

    def adapt(self, key: str, limit: RateLimit) -> None:
        """Use ``limit`` for ``key`` from now on when it is stricter than the configured one."""
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                return
            mine = window.limit
            if limit.requests / limit.per < mine.requests / mine.per:
                window.set_limit(limit)
                window.adapted = True


_SHARED = Limiter()


def shared_limiter() -> Limiter:
    """This process's one limiter, shared by every client and run in it."""
    return _SHARED


@dataclass(slots=True)
class Gate:
    """The limits one call falls under, on a limiter: what the flow asks before each send.

    One request at a time: :meth:`reserve`, then :meth:`ready` after each wait until it says
    0, send, then :meth:`observe` the answer (or :meth:`release` if it was never sent).
    """

    limiter: Limiter
    limits: tuple[tuple[str, RateLimit], ...]
    _booking: Booking | None = field(default=None, repr=False)

    def reserve(self) -> float:
        """Book a place under every limit; seconds to wait before sending (0: go now)."""
        self._booking = self.limiter.book(self.limits)
        return self._booking.wait if self._booking.wait > 0 else self.ready()

    def ready(self) -> float:
        """After a wait: 0 when the request may leave now, else seconds still to wait."""
        if self._booking is None:
            return 0.0
        return self.limiter.ready(self._booking)

    def paused(self) -> float:
        """Seconds of a server-ordered pause still to wait."""
        return self.limiter.paused(k for k, _ in self.limits)

    def release(self) -> None:
        """The booked request will not be sent (or its answer is lost): free what waits on it."""
        if self._booking is not None:
            self.limiter.answered(self._booking)
            self._booking = None

    def observe(
        self, status: int | None, headers: Mapping[str, str], at: float | None = None
    ) -> None:
        """The answer is in (since ``at`` on the limiter's clock, if given: when its headers
        came): record it, and adapt to what the server said (a pause, a stricter policy)."""
        booking, self._booking = self._booking, None
        if booking is not None:
            self.limiter.answered(booking, at)
        if status is None:
            return
        keys = [k for k, _ in self.limits]
        wait = server_wait(status, headers)
        if wait and (status in (429, 503) or booking is None or not self.limiter.explains(booking)):
            self.limiter.pause(keys, wait)
        policy = server_policy(headers)
        if policy is not None and self.limits:
            self.limiter.adapt(self.limits[0][0], policy)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now (a number or an HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime  # an HTTP date: rare, so loaded late

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


_PARAM = re.compile(r";\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)")


def _params(value: str | None) -> dict[str, float]:
    """``"default";r=0;t=7`` -> ``{"r": 0.0, "t": 7.0}`` (the first item of a list)."""
    if not value:
        return {}
    return {k: float(v) for k, v in _PARAM.findall(value.split(",")[0])}


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def server_wait(status: int, headers: Mapping[str, str]) -> float:
    """Seconds the server asks every caller of the key to wait (0: none)."""
    if status in (429, 503):
        after = retry_after_seconds(headers.get("retry-after"))
        if after is not None:
            return after
    params = _params(headers.get("ratelimit"))
    if params.get("r") == 0 and "t" in params:
        return params["t"]
    for prefix in ("x-ratelimit-", "ratelimit-"):
        remaining = _number(headers.get(prefix + "remaining"))
        reset = _number(headers.get(prefix + "reset"))
        if remaining == 0 and reset is not None:
            # a reset past a billion is a Unix time, else seconds from now
            return max(0.0, reset - time.time()) if reset > 1e9 else reset
    if status == 429:
        return 1.0  # refused with no word on when: a short pause for everyone
    return 0.0


def server_policy(headers: Mapping[str, str]) -> RateLimit | None:
    """The limit the server declares (``ratelimit-policy: "x";q=100;w=60``), if any."""
    params = _params(headers.get("ratelimit-policy"))
    if params.get("q", 0) >= 1 and params.get("w", 0) > 0:
        return RateLimit(requests=int(params["q"]), per=params["w"])
    return None
