"""Engine fixtures: one Prefect API for the whole session.

Every Prefect run that finds no ``PREFECT_API_URL`` starts an ephemeral API server of its
own, in a new ``PREFECT_HOME`` migrating a new database: 20 s and more per run on a busy
2-core machine, which is what pushed the engine tests past their timeouts under load. Here
the server starts once, in one home, and every run (in this process or a CLI subprocess)
talks to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


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
