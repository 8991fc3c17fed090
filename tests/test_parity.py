"""Parity: every path that runs a step gives the same result for the same scenario.

A *path* is a function ``(workflow_file, step_id, inputs, base_url) -> TaskResult as a dict``
(``model_dump(mode="json")``). :data:`PATHS` is the table: the sync :class:`~rtk_task.Client`,
the :class:`~rtk_task.AsyncClient` (each through the step runner the engines use),
``rtk-task test --step`` and ``rtk-task run`` (the real CLI in a subprocess). An engine
(Temporal, Prefect) runs the same scenarios through ``rtk-task run --engine`` in a slow test of
its own, compared with the local paths.

Each scenario runs on one real emulator on loopback, reset before each path, with its faults
set up again: (a) a paged list, (b) a create retried after a 429 with Retry-After, (c) a create
that fails ambiguously (processed, then a 500). The results are compared field by field
(ok, error kind, attempts, status, outputs, items, pages), and against what each scenario
must give, so a path that drifts fails the day it does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtk_task import AsyncClient, Client, load_workflow
from rtk_task.workflows.step import run_step, run_step_async

from .helpers import CANARY, run_cli

#: A path: (workflow_file, step_id, inputs, base_url) -> the step's TaskResult as JSON.
Path_ = Callable[[Path, str, dict[str, Any], str], dict[str, Any]]


def via_client(file: Path, step_id: str, inputs: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The sync Client, through the step runner (``StepRun.call``)."""
    wf = load_workflow(file)
    with Client(base_url=base_url) as client:
        result = run_step(client, wf, wf.step(step_id), wf.resolve_inputs(inputs), {})
    return result.model_dump(mode="json")


def via_async_client(
    file: Path, step_id: str, inputs: dict[str, Any], base_url: str
) -> dict[str, Any]:
    """The AsyncClient, through the step runner (``StepRun.acall``), as the engines call it."""
    wf = load_workflow(file)

    async def main() -> dict[str, Any]:
        async with AsyncClient(base_url=base_url) as client:
            step = wf.step(step_id)
            result = await run_step_async(client, wf, step, wf.resolve_inputs(inputs), {})
        return result.model_dump(mode="json")

    return asyncio.run(main())


def _input_flags(inputs: dict[str, Any]) -> list[str]:
    return [flag for k, v in inputs.items() for flag in ("--input", f"{k}={v}")]


def via_cli_test(file: Path, step_id: str, inputs: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``rtk-task test WORKFLOW --step ID --json`` (the Test request button)."""
    done = run_cli(
        "test",
        str(file),
        "--step",
        step_id,
        *_input_flags(inputs),
        "--base-url",
        base_url,
        "--json",
        cwd=file.parent,
    )
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def via_cli_run(file: Path, step_id: str, inputs: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``rtk-task run WORKFLOW --json`` on the local engine; the step's result."""
    done = run_cli(
        "run", str(file), *_input_flags(inputs), "--base-url", base_url, "--json", cwd=file.parent
    )
    assert done.returncode in (0, 1), done.stderr
    data: dict[str, Any] = json.loads(done.stdout)["steps"][step_id]
    return data


def via_engine(engine: str, prefect_api: str) -> Path_:
    """``rtk-task run WORKFLOW --engine ENGINE --json``; the step's result."""

    def run(file: Path, step_id: str, inputs: dict[str, Any], base_url: str) -> dict[str, Any]:
        done = run_cli(
            "run",
            str(file),
            *_input_flags(inputs),
            "--engine",
            engine,
            "--base-url",
            base_url,
            "--json",
            cwd=file.parent,
            env={"PREFECT_API_URL": prefect_api},
            timeout=150,
        )
        assert done.returncode in (0, 1), done.stderr[-2000:]
        data: dict[str, Any] = json.loads(done.stdout)["steps"][step_id]
        return data

    return run


PATHS: dict[str, Path_] = {
    "Client": via_client,
    "AsyncClient": via_async_client,
    "test --step": via_cli_test,
    "run": via_cli_run,
}


@dataclass(frozen=True)
class Scenario:
    """A one-step workflow, how to set the emulator up for it, and what it must give."""

    workflow: str
    setup: Callable[[Any], None]
    expected: dict[str, Any]
    #: Requests per operation the emulator must have received for one path.
    requests: dict[str, int]
    #: The least time one path may take (a Retry-After honoured), in ms.
    min_elapsed_ms: float = 0.0


def _five_meetings(server: Any) -> None:
    headers = {"Authorization": f"Bearer {CANARY}"}
    with httpx.Client(base_url=server.base_url, headers=headers) as http:
        for i in range(5):
            http.post("/accounts/acc-par/realtimekit/meetings", json={"title": f"m{i}"})


def _fault(**rule: Any) -> Callable[[Any], None]:
    def setup(server: Any) -> None:
        server.add_faults({"match": {"operation": "create_meeting"}, "times": 1, **rule})

    return setup


CREATE = (
    "name: parity\nsteps:\n  - id: create\n    task: realtimekit.meetings.create\n"
    "    with: {account_id: acc-par, title: parity}\n"
)
SCENARIOS = {
    "paged list": Scenario(
        "name: parity\nsteps:\n  - id: all\n    task: realtimekit.meetings.list\n"
        "    paginate: true\n    with: {account_id: acc-par, per_page: 2}\n",
        _five_meetings,
        {"ok": True, "error_kind": None, "attempts": 3, "items": 5, "pages": 3},
        {"get_all_meetings": 3},
    ),
    "429 then created": Scenario(
        CREATE,
        _fault(action="status", status=429, retry_after="1"),
        {"ok": True, "error_kind": None, "attempts": 2, "status_code": 201},
        {"create_meeting": 2},
        min_elapsed_ms=1000,
    ),
    "ambiguous create": Scenario(
        CREATE,
        _fault(action="process_then_fail", status=500),
        {"ok": False, "error_kind": "ambiguous", "attempts": 1, "status_code": 500},
        {"create_meeting": 1},
    ),
}


def project(result: dict[str, Any]) -> dict[str, Any]:
    """What must agree across paths: everything but ids, times and the request echo."""
    outputs = dict(result["outputs"])
    items = outputs.pop("items", None)
    return {
        "ok": result["ok"],
        "error_kind": (result["error"] or {}).get("kind"),
        "attempts": result["attempts"],
        "status_code": result["status_code"],
        "skipped": result["skipped"],
        "output_names": sorted(outputs),
        "title": outputs.get("title"),
        "items": None if items is None else len(items),
        "item_titles": None if items is None else sorted(i["title"] for i in items),
        "pages": outputs.get("pages"),
    }


def _run_paths(
    name: str, paths: dict[str, Path_], emulator: Any, tmp_path: Path
) -> dict[str, dict[str, Any]]:
    """Each path on scenario ``name``, checked against what it must give; their projections."""
    scenario = SCENARIOS[name]
    file = tmp_path / "wf.yaml"
    file.write_text(scenario.workflow)
    step_id = load_workflow(file).steps[0].id
    seen: dict[str, dict[str, Any]] = {}
    for path_name, path in paths.items():
        emulator.reset()
        emulator.clear_faults()
        scenario.setup(emulator)
        before = dict(emulator.stats()["requests"])
        result = path(file, step_id, {}, emulator.base_url)
        requests = emulator.stats()["requests"]
        got = {op: requests.get(op, 0) - before.get(op, 0) for op in scenario.requests}
        assert got == scenario.requests, f"{path_name}: requests received"
        assert result["elapsed_ms"] >= scenario.min_elapsed_ms, f"{path_name}: elapsed_ms"
        projected = project(result)
        for key, value in scenario.expected.items():
            assert projected[key] == value, f"{path_name}: {key}"
        seen[path_name] = projected
    return seen


def _assert_all_agree(seen: dict[str, dict[str, Any]]) -> None:
    first_name, first = next(iter(seen.items()))
    for path_name, projected in seen.items():
        assert projected == first, f"{path_name} differs from {first_name}"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_path_gives_the_same_result(name: str, fresh_emulator: Any, tmp_path: Path) -> None:
    _assert_all_agree(_run_paths(name, PATHS, fresh_emulator, tmp_path))


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_engine_gives_the_same_result_as_the_client(
    name: str, fresh_emulator: Any, tmp_path: Path, prefect_api: str
) -> None:
    paths = {
        "Client": via_client,
        "temporal": via_engine("temporal", prefect_api),
        "prefect": via_engine("prefect", prefect_api),
    }
    _assert_all_agree(_run_paths(name, paths, fresh_emulator, tmp_path))
