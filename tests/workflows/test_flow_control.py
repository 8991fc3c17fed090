"""for_each, until and workflow outputs: run against the emulator, and checked before sending."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

from rtk_task.emulator.server import EmulatorServer
from rtk_task.errors import WorkflowError
from rtk_task.workflows.check import check_workflow
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import pool_limits, run_workflow

from ..helpers import CANARY, run_cli
from .flowdefs import onboard

ACC = "acc-flow"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(token=CANARY, recording_delays=(0.1, 0.5)) as s:
        yield s


def _participants(server: EmulatorServer, account: str) -> list[dict[str, Any]]:
    return list(server.emulator.store.all(account, "participants"))


def test_for_each_adds_every_person_and_outputs_lists_in_item_order(
    server: EmulatorServer,
) -> None:
    people = [f"person-{i}" for i in range(40)]
    run = run_workflow(
        parse_workflow(onboard()), {"account_id": ACC, "people": people}, base_url=server.base_url
    )
    assert run.ok, {k: r.error for k, r in run.steps.items()}
    assert run.outputs["names"] == people
    ids = run.outputs["participant_ids"]
    assert len(ids) == 40
    assert len(set(ids)) == 40
    stored = {p["id"]: p["name"] for p in _participants(server, ACC)}
    assert [stored[i] for i in ids] == people, "the ids are not in item order"
    assert run.outputs["recording_status"] == "UPLOADED"
    summary = run.steps["add"].body
    assert summary == {"items": 40, "succeeded": 40, "failed": [], "not_run": 0}


def test_until_gives_up_with_a_timeout_error_naming_the_last_status() -> None:
    with EmulatorServer(token=CANARY, recording_delays=(0.1, 1000)) as s:
        run = run_workflow(
            parse_workflow(onboard(timeout=0.6)),
            {"account_id": ACC, "people": ["a"]},
            base_url=s.base_url,
        )
    waited = run.steps["uploaded"]
    assert not run.ok
    assert not waited.ok
    assert waited.error is not None
    assert waited.error.kind == "timeout"
    assert "last status seen: HTTP 200, status 'UPLOADING'" in waited.error.message
    assert waited.attempts >= 2, "the call was not repeated"
    assert run.output_error is not None  # the outputs read a step that failed


WF_ITEMS = """
name: items
inputs:
  account_id: {type: string}
  titles: {type: array}
rate_limit: false
steps:
  - id: make
    task: realtimekit.meetings.create
    for_each: "{{ inputs.titles }}"
    concurrency: 3
    continue_on_error: CONTINUE
    with:
      account_id: "{{ inputs.account_id }}"
      title: "{{ item }}"
      record_on_start: "{{ index == 2 and 'nope' or false }}"
outputs:
  ids: "{{ steps.make.outputs.meeting_id }}"
"""


def test_continue_on_error_lists_the_failed_items_and_runs_the_rest(
    server: EmulatorServer,
) -> None:
    wf = parse_workflow(WF_ITEMS.replace("CONTINUE", "true"))
    titles = [f"t{i}" for i in range(6)]
    run = run_workflow(wf, {"account_id": ACC, "titles": titles}, base_url=server.base_url)
    make = run.steps["make"]
    assert not make.ok
    assert make.body is not None
    body = cast("dict[str, Any]", make.body)
    assert body["succeeded"] == 5
    assert body["not_run"] == 0
    assert [f["index"] for f in body["failed"]] == [2]
    assert body["failed"][0]["error"]["kind"] == "validation"
    assert make.error is not None
    assert "1 of 6 items failed; item 2" in make.error.message
    ids = cast("list[Any]", make.outputs["meeting_id"])
    assert ids[2] is None
    assert all(ids[i] for i in (0, 1, 3, 4, 5))


def test_without_continue_on_error_no_item_starts_after_a_failure(
    server: EmulatorServer,
) -> None:
    wf = parse_workflow(WF_ITEMS.replace("CONTINUE", "false"))
    titles = [f"t{i}" for i in range(30)]
    run = run_workflow(wf, {"account_id": ACC, "titles": titles}, base_url=server.base_url)
    body = cast("dict[str, Any]", run.steps["make"].body)
    assert not run.ok
    assert isinstance(body, dict)
    assert body["not_run"] > 0
    assert body["succeeded"] < 29


def test_details_keep_every_item_result(server: EmulatorServer) -> None:
    wf = parse_workflow(WF_ITEMS.replace("CONTINUE", "true"))
    run = run_workflow(
        wf, {"account_id": ACC, "titles": ["a", "b"]}, base_url=server.base_url, details=True
    )
    body = cast("dict[str, Any]", run.steps["make"].body)
    assert isinstance(body, dict)
    assert len(body["results"]) == 2
    assert body["results"][0]["outputs"]["title"] == "a"


def test_a_thousand_items_keep_the_record_small(server: EmulatorServer) -> None:
    wf = parse_workflow(
        WF_ITEMS.replace("CONTINUE", "true").replace("concurrency: 3", "concurrency: 32")
    )
    titles = [f"t{i}" for i in range(1000)]
    run = run_workflow(wf, {"account_id": ACC, "titles": titles}, base_url=server.base_url)
    make = run.steps["make"]
    size = len(json.dumps(make.model_dump(mode="json")))
    ids = len(json.dumps(make.outputs))
    assert len(run.outputs["ids"]) == 1000
    assert ids > 1000 * 36
    # the step's record is its outputs (lists) and the summary, not 1,000 results
    assert size < 2 * ids + 5000, f"the record is {size} bytes for {ids} bytes of ids"


def test_check_knows_item_and_list_outputs() -> None:
    wf = parse_workflow(
        """
name: c
inputs:
  n: {type: integer, default: 1}
steps:
  - id: make
    task: realtimekit.meetings.create
    for_each: "{{ inputs.n }}"
    with: {account_id: a, title: "{{ item }}"}
  - id: one
    task: realtimekit.meetings.get
    with: {account_id: a, meeting_id: "{{ steps.make.outputs.meeting_id }}"}
  - id: two
    task: realtimekit.meetings.create
    with: {account_id: a, title: "{{ item }}"}
outputs:
  x: "{{ steps.nope.outputs.id }}"
""",
        references=False,
    )
    messages = [p.message for p in check_workflow(wf).problems]
    assert any("for_each needs a list, got {{ inputs.n }} (a integer)" in m for m in messages)
    assert any(
        "meeting_id" in m and "(got {{ steps.make.outputs.meeting_id }}, a array)" in m
        for m in messages
    )
    assert any("steps.two.with.title: `item` exists only in a for_each step" in m for m in messages)
    assert any(m.startswith("outputs.x: unknown step 'nope'") for m in messages)


def test_until_may_read_response_but_not_item_outside_for_each() -> None:
    text = """
name: u
steps:
  - id: get
    task: realtimekit.recordings.get
    with: {account_id: a, recording_id: r}
    until: {condition: "{{ response.body.data.status == 'UPLOADED' and index }}"}
"""
    with pytest.raises(WorkflowError) as info:
        parse_workflow(text)
    assert "steps.get.until.condition: `index` exists only" in info.value.render()
    parse_workflow(text.replace(" and index", ""))  # `response` is fine in until


def test_run_json_prints_outputs(server: EmulatorServer, tmp_path: Any) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(WF_ITEMS.replace("CONTINUE", "false").replace("'nope'", "false"))
    out = run_cli(
        "run",
        str(path),
        "--input",
        f"account_id={ACC}",
        "--input",
        'titles=["x", "y"]',
        "--base-url",
        server.base_url,
        "--json",
        "--details",
    )
    data = json.loads(out.stdout)
    assert data["ok"]
    assert len(data["outputs"]["ids"]) == 2
    assert len(data["steps"]["make"]["body"]["results"]) == 2


WF_WIDE = """
name: wide
inputs:
  account_id: {type: string}
  titles: {type: array}
steps:
  - id: one
    task: realtimekit.meetings.create
    with: {account_id: "{{ inputs.account_id }}", title: one}
  - id: forty
    task: realtimekit.meetings.create
    for_each: "{{ inputs.titles }}"
    concurrency: 40
    with: {account_id: "{{ inputs.account_id }}", title: "{{ item }}"}
  - id: thirty
    task: realtimekit.meetings.create
    for_each: "{{ inputs.titles }}"
    concurrency: 30
    with: {account_id: "{{ inputs.account_id }}", title: "{{ item }}"}
"""


def test_a_run_pools_as_many_connections_as_its_widest_steps_send_at_once() -> None:
    wide = parse_workflow(WF_WIDE)
    both = pool_limits(wide, concurrency=2)  # the two for_each steps side by side
    assert (both.max_connections, both.max_keepalive_connections) == (100, 70)
    alone = pool_limits(wide, concurrency=1)
    assert (alone.max_connections, alone.max_keepalive_connections) == (100, 40)
    every = pool_limits(wide, concurrency=4)
    assert (every.max_connections, every.max_keepalive_connections) == (100, 71)
    huge = parse_workflow(WF_WIDE.replace("concurrency: 40", "concurrency: 250"))
    assert pool_limits(huge, concurrency=4).max_connections == 281
    plain = parse_workflow(WF_WIDE.split("  - id: forty", maxsplit=1)[0])  # one plain step
    assert pool_limits(plain, concurrency=4).max_keepalive_connections == 20, "httpx's default"
