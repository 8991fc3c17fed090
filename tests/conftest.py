"""Shared fixtures: a real emulator on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .helpers import CANARY


@pytest.fixture(scope="session")
def emulator() -> Iterator[object]:
    """One emulator for the session, on a free loopback port, requiring CANARY as token."""
    from rtk_task.emulator import EmulatorServer

    with EmulatorServer(host="127.0.0.1", port=0, token=CANARY) as server:
        yield server


@pytest.fixture
def fresh_emulator() -> Iterator[object]:
    """An emulator of a test's own (for counting what it received)."""
    from rtk_task.emulator import EmulatorServer

    with EmulatorServer(host="127.0.0.1", port=0, token=CANARY) as server:
        yield server
