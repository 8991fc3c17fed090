"""Shared fixtures: a real emulator on a loopback port; the suite-wide canary check.

The whole suite runs with ``CLOUDFLARE_API_TOKEN`` set to :data:`CANARY`. Every test's
captured stdout, stderr and log records, and every CLI subprocess's output, are searched for
it at the end of the session: if the token appears anywhere, the run fails.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import CANARY, CanaryGuard

os.environ["CLOUDFLARE_API_TOKEN"] = CANARY
os.environ.pop("RTK_BASE_URL", None)
# Set before any test imports Prefect (it reads its settings once, at import): a first start
# of its ephemeral server runs migrations and takes about 21 s on a 2-core machine, over
# Prefect's 20 s default. rtk_task.engines.prefect sets the same default for the CLI's runs.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def pytest_configure(config: pytest.Config) -> None:
    """Each session (nested pytester ones too) gets a guard of its own."""
    config.pluginmanager.register(CanaryGuard(), "rtk-canary-guard")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Prefect stops its temporary server at exit and logs that into pytest's closed capture
    streams; logging's own report of that is noise, not a failure."""
    logging.raiseExceptions = False


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


# One Prefect API for the whole session. Every Prefect run that finds no PREFECT_API_URL
# starts an ephemeral API server of its own, in a new PREFECT_HOME migrating a new database:
# 20 s and more per run on a busy 2-core machine, which pushed the engine tests past their
# timeouts under load. Here the server starts once, in one home, and every run (in this
# process or a CLI subprocess) talks to it.
@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's Prefect API URL; runs in this process use it while the session lasts."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    server = SubprocessASGIServer()
    with temporary_settings({PREFECT_HOME: Path(home)}):
        server.start(timeout=120)
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url, PREFECT_HOME: Path(home)}):
            yield server.api_url
    finally:
        server.stop()
