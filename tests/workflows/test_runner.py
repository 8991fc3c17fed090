"""The local runner: dependency order, bounded concurrency, when, failures, records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from rtk_task.secrets import Redactor
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.records import latest_outputs, write_record
from rtk_task.workflows.runner import run_workflow

BASE = "http://127.0.0.1:1/v4"

FAN_OUT = """\
name: fan-out
inputs:
  account_id: {type: string, default: acc}
  guests: {type: boolean, default: true}
steps:
  - id: create
    task: realtimekit.meetings.create
    with: {account_id: "{{ inputs.account_id }}", title: root}
  - id: guest_a
    task: realtimekit.meetings.participants.add
    when: "{{ inputs.guests }}"
    with: &guest
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
      preset_name: guest
      custom_participant_id: a
  - id: guest_b
    task: realtimekit.meetings.participants.add
    with: {<<: *guest, custom_participant_id: b}
  - id: guest_c
    task: realtimekit.meetings.participants.add
    with: {<<: *guest, custom_participant_id: c}
  - id: fetch
    task: realtimekit.meetings.get
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
      name: "{{ steps.guest_b.outputs.participant_id }}"
"""


class Server:
    """An async MockTransport handler that tracks how many calls overlap."""

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.active = 0
        self.peak = 0
        self.order: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.02)
        self.active -= 1
        body = json.loads(request.content or b"{}")
        who = body.get("custom_participant_id") or request.method
        self.order.append(who)
        if who == self.fail:
            return httpx.Response(
                500, json={"success": False, "error": {"code": 500, "message": "boom"}}
            )
        data = {"id": f"id-{who}", "created_at": "t", "updated_at": "t", "token": "tk", **body}
        status = 200 if request.method == "GET" else 201
        return httpx.Response(status, json={"success": True, "data": data})


def run(text: str, server: Server, **kw: Any) -> Any:
    wf = parse_workflow(text, "wf.yaml")
    return run_workflow(
        wf,
        kw.pop("inputs", {}),
        base_url=BASE,
        token="tok-runner-1",
        transport=httpx.MockTransport(server),
        **kw,
    )


def test_independent_steps_run_concurrently_after_their_dependency() -> None:
    server = Server()
    result = run(FAN_OUT, server, concurrency=8)
    assert result.ok, {k: r.error for k, r in result.steps.items()}
    assert server.order[0] == "POST"
    assert server.order[-1] == "GET", "fetch must wait for guest_b"
    assert server.peak == 3, f"the three guests should overlap, peak was {server.peak}"
    assert list(result.steps) == ["create", "guest_a", "guest_b", "guest_c", "fetch"]


def test_concurrency_is_bounded() -> None:
    server = Server()
    assert run(FAN_OUT, server, concurrency=2).ok
    assert server.peak <= 2


def test_when_false_skips_a_step() -> None:
    server = Server()
    result = run(FAN_OUT, server, inputs={"guests": False})
    assert result.ok
    assert result.steps["guest_a"].skipped
    assert "a" not in server.order


def test_the_first_failure_stops_the_run() -> None:
    server = Server(fail="b")
    result = run(FAN_OUT, server, concurrency=1)
    assert not result.ok
    assert result.steps["guest_b"].error is not None
    assert result.steps["fetch"].skipped
    assert "GET" not in server.order


def test_continue_on_error_keeps_going_but_dependents_do_not_run() -> None:
    text = FAN_OUT.replace(
        "    with: {<<: *guest, custom_participant_id: b}",
        "    continue_on_error: true\n    with: {<<: *guest, custom_participant_id: b}",
    )
    server = Server(fail="b")
    result = run(text, server, concurrency=1)
    assert result.steps["guest_c"].ok
    assert result.steps["fetch"].skipped
    message = result.steps["fetch"].error.message if result.steps["fetch"].error else ""
    assert "guest_b" in message


def test_records_are_found_by_later_tests(tmp_path: Path) -> None:
    server = Server()
    result = run(FAN_OUT, server)
    write_record(
        "wf.yaml",
        "fan-out",
        result.steps,
        ok=result.ok,
        inputs={},
        redactor=Redactor(),
        root=tmp_path,
    )
    found = latest_outputs("wf.yaml", {"create", "guest_b"}, root=tmp_path)
    assert found["create"][0]["meeting_id"] == "id-POST"
    assert found["guest_b"][0]["participant_id"] == "id-b"


@pytest.mark.parametrize("bad", ["{{ inputs.nope }}", "{{ steps.later.outputs.x }}"])
def test_bad_when_is_reported_with_its_line(bad: str) -> None:
    from rtk_task.errors import WorkflowError

    text = FAN_OUT.replace('when: "{{ inputs.guests }}"', f'when: "{bad}"')
    with pytest.raises(WorkflowError, match=r"wf.yaml:11:"):
        parse_workflow(text, "wf.yaml")


PAGED = """\
name: paged
steps:
  - id: all
    task: realtimekit.meetings.list
    paginate: true
    with: {account_id: acc, per_page: 20}
"""


def _pages(total: int, seen: list[httpx.Request]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params["page_no"])
        size = int(request.url.params["per_page"])
        start = (page - 1) * size
        data = [
            {"id": f"m{i}", "created_at": "t", "updated_at": "t"}
            for i in range(start, min(start + size, total))
        ]
        return httpx.Response(
            200,
            json={
                "success": True,
                "data": data,
                "paging": {
                    "total_count": total,
                    "start_offset": start + 1,
                    "end_offset": start + len(data),
                },
            },
        )

    return handler


def test_paginate_gathers_45_items_in_3_requests() -> None:
    seen: list[httpx.Request] = []
    result = run_workflow(
        parse_workflow(PAGED, "wf.yaml"),
        {},
        base_url=BASE,
        token="tok-p-1",
        transport=httpx.MockTransport(_pages(45, seen)),
    )
    out = result.steps["all"].outputs
    assert result.ok
    assert len(seen) == 3
    items = cast("list[dict[str, Any]]", out["items"])
    assert [m["id"] for m in items] == [f"m{i}" for i in range(45)]
    assert out["pages"] == 3


def test_max_pages_stops_early() -> None:
    seen: list[httpx.Request] = []
    text = PAGED.replace("paginate: true", "paginate: true\n    max_pages: 2")
    result = run_workflow(
        parse_workflow(text, "wf.yaml"),
        {},
        base_url=BASE,
        token="tok-p-1",
        transport=httpx.MockTransport(_pages(100, seen)),
    )
    assert len(seen) == 2
    assert len(result.steps["all"].outputs["items"]) == 40  # type: ignore[arg-type]


def test_paginate_on_a_task_that_does_not_page_is_an_error() -> None:
    text = PAGED.replace("realtimekit.meetings.list", "realtimekit.meetings.get").replace(
        "{account_id: acc, per_page: 20}", "{account_id: acc, meeting_id: m}"
    )
    result = run_workflow(
        parse_workflow(text, "wf.yaml"),
        {},
        base_url=BASE,
        token="tok-p-1",
        transport=httpx.MockTransport(_pages(1, [])),
    )
    error = result.steps["all"].error
    assert error is not None
    assert "does not page" in error.message
