"""Flow control gives the same results on every engine: for_each, a rate limit, until, outputs.

One workflow (:mod:`tests.workflows.flowdefs`) adds 200 participants with ``for_each`` under a
rate limit, starts and stops a recording, waits ``until`` it is UPLOADED, and returns outputs;
it runs on the local engine, Temporal (a real dev server) and Prefect (the session's API), and
the results must agree with each other and with the emulator's store.
"""

from __future__ import annotations

from typing import Any

import pytest

from rtk_task.emulator.server import EmulatorServer
from rtk_task.engines import ENGINES, get_engine
from rtk_task.workflows.model import parse_workflow

from ..helpers import CANARY
from ..workflows.flowdefs import onboard

pytestmark = pytest.mark.slow

PEOPLE = [f"person-{i:03d}" for i in range(200)]


def _shape(run: Any) -> dict[str, Any]:
    steps = run.steps
    return {
        "ok": run.ok,
        "steps": {k: (r.ok, r.status_code, sorted(r.outputs)) for k, r in steps.items()},
        "add": steps["add"].body,
        "names": run.outputs["names"],
        "status": run.outputs["recording_status"],
        "ids": len(run.outputs["participant_ids"]),
    }


@pytest.mark.timeout(900)
def test_for_each_rate_limit_until_and_outputs_agree_on_every_engine(prefect_api: str) -> None:
    assert prefect_api
    wf = parse_workflow(onboard(timeout=30))
    shapes = {}
    with EmulatorServer(token=CANARY, recording_delays=(0.2, 1.5)) as server:
        server.emulator.set_rate_limit("100/1s")
        for name in ENGINES:
            account = f"acc-flow-{name}"
            run = get_engine(name).run(
                wf, {"account_id": account, "people": PEOPLE}, base_url=server.base_url
            )
            assert run.ok, (name, {k: r.error for k, r in run.steps.items() if not r.ok})
            ids = run.outputs["participant_ids"]
            stored = {p["id"]: p for p in server.emulator.store.all(account, "participants")}
            assert len(stored) == 200, f"{name}: the store holds {len(stored)} participants"
            assert [stored[i]["name"] for i in ids] == PEOPLE, f"{name}: ids not in item order"
            assert run.steps["uploaded"].attempts >= 2, f"{name}: until did not repeat"
            shapes[name] = _shape(run)
        assert server.stats()["rate_limited"] == 0, "the client went past the limit"
    assert shapes["local"]["status"] == "UPLOADED"
    assert shapes["local"]["ids"] == 200
    assert shapes["temporal"] == shapes["local"]
    assert shapes["prefect"] == shapes["local"]
