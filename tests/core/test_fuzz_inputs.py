"""Fuzzing (hypothesis): workflow files, templates and input values raise only our errors.

And inputs stay data: whatever a value holds, it reaches the server byte-exact, is never
rendered again, and never changes the host or the path.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtk_task import Client, RtkError
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.render import compile_value

from ..workflows.test_workflow import GOOD

FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LINES = GOOD.splitlines()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@FAST
@given(st.data())
def test_mutated_workflow_files_raise_only_workflow_errors(data: st.DataObject) -> None:
    lines = list(LINES)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "swap", "garble", "indent"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "swap" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        elif action == "garble":
            lines[i] = data.draw(st.text(max_size=40))
        else:
            lines[i] = " " + lines[i]
        if not lines:
            lines = [""]
    problems: list[Any] = []
    try:
        parse_workflow("\n".join(lines), "wf.yaml")
    except RtkError as exc:  # anything else is a bug: hypothesis reports it
        problems = list(exc.problems)
    assert all(p.where.startswith("wf.yaml") for p in problems), problems


@FAST
@given(st.text(max_size=60))
def test_any_template_text_compiles_and_renders_or_raises_our_error(text: str) -> None:
    context = {"inputs": {"x": 1, "s": "a"}, "steps": {}, "secrets": {}}
    with contextlib.suppress(RtkError):  # anything else is a bug: hypothesis reports it
        compile_value({"f": text}, "w").render(context, "w")


def _client(seen: list[httpx.Request]) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201, json={"success": True, "data": {"id": "m", "created_at": "t", "updated_at": "t"}}
        )

    return Client(
        base_url="http://127.0.0.1:1/v4", token="tok-fuzz-1", transport=httpx.MockTransport(handler)
    )


@FAST
@given(st.dictionaries(st.text(max_size=12), JSON, max_size=6))
def test_any_input_values_give_a_result_never_a_traceback(inputs: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []
    result = _client(seen).call("realtimekit.meetings.create", inputs)
    assert result.ok or result.error is not None
    assert bool(seen) == result.sent


@FAST
@given(st.text(min_size=1), st.text())
def test_inputs_are_data_byte_exact_and_never_move_the_host(account: str, title: str) -> None:
    seen: list[httpx.Request] = []
    wf = parse_workflow(
        "name: f\ninputs:\n  account_id: {type: string}\n  title: {type: string}\nsteps:\n"
        "  - id: s\n    task: realtimekit.meetings.create\n    with:\n"
        '      account_id: "{{ inputs.account_id }}"\n      title: "{{ inputs.title }}"\n',
        "wf.yaml",
    )
    from rtk_task.workflows.runner import run_step

    result = run_step(_client(seen), wf, wf.steps[0], {"account_id": account, "title": title}, {})
    assert result.ok, result.error
    request = seen[0]
    assert request.url.host == "127.0.0.1"
    assert request.url.raw_path.startswith(b"/v4/accounts/")
    assert request.url.raw_path.endswith(b"/realtimekit/meetings")
    assert json.loads(request.content) == {"title": title}
