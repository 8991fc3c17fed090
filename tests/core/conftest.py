"""Fixtures of the core tests: recording servers on loopback (:mod:`tests.recorder`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from ..recorder import Recorder, Reply, Seen, ok

#: Starts a recording server answering with the given function (default ``ok``).
Serve = Callable[..., Recorder]


@pytest.fixture
def server() -> Iterator[Recorder]:
    """One recording server answering ``200 {"ok": true}``."""
    with Recorder() as recorder:
        yield recorder


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start recording servers, each answering with the given function (default ``ok``)."""
    with contextlib.ExitStack() as stack:

        def start(respond: Callable[[Seen], Reply] = ok) -> Recorder:
            return stack.enter_context(Recorder(respond))

        yield start
