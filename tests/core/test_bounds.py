"""No input can exhaust the machine: YAML bombs, deep nesting, endless paging, slow drips.

Each test bounds the work it allows (memory traced, items held, parser steps), never wall
time.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from rtk_task import RetryPolicy, TaskResult
from rtk_task.errors import ConfigError, WorkflowError
from rtk_task.execute import prepare
from rtk_task.limits import MAX_DEPTH, loads_json, nesting_path
from rtk_task.manifests.registry import load_task
from rtk_task.paginate import DEFAULT_MAX_ITEMS, page_flow, paging_of
from rtk_task.policy import DEFAULT_DEADLINE
from rtk_task.retry import Attempt, Send
from rtk_task.secrets import Redactor
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.yamlfile import check_yaml_bounds

BASE = "http://127.0.0.1:8787/client/v4"


def _bomb(levels: int = 10) -> str:
    lines = ["name: bomb", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join([*lines, "steps: []"]) + "\n"


# -- workflow YAML ----------------------------------------------------------------------------


def test_a_billion_laughs_is_refused_with_its_line_and_little_memory() -> None:
    text = _bomb()
    assert len(text) < 600
    tracemalloc.start()
    try:
        with pytest.raises(WorkflowError) as err:
            parse_workflow(text, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    problem = err.value.first
    assert problem.where.startswith("bomb.yaml:"), problem
    assert int(problem.where.split(":")[1]) <= 11
    assert "aliases" in problem.message
    assert "alias" in problem.hint
    assert peak < 20 * 1024 * 1024, f"refusing the bomb held {peak:,} bytes"


def test_a_few_aliases_still_load() -> None:
    text = "name: ok\ndefaults: &d {a: 1}\nother: *d\nsteps: []\n"
    check_yaml_bounds(text, "ok.yaml")  # no error: ordinary anchors are fine


@pytest.mark.parametrize(
    "body",
    [
        "[" * 5000 + "]" * 5000,
        "{a: " * 3000 + "1" + "}" * 3000,
        "\n" + "".join(f"{'  ' * (i + 1)}-\n" for i in range(400)),
    ],
    ids=["flow-lists", "flow-maps", "block-lists"],
)
def test_deep_yaml_is_refused_with_its_line(body: str) -> None:
    with pytest.raises(WorkflowError) as err:
        parse_workflow(f"name: deep\nsteps: {body}\n", "deep.yaml")
    assert err.value.first.where.startswith("deep.yaml:")
    assert f"deeper than {MAX_DEPTH}" in err.value.first.message
    assert err.value.first.hint


def test_a_huge_workflow_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rtk_task.limits.MAX_TEXT_BYTES", 1000)
    with pytest.raises(WorkflowError, match="too large"):
        parse_workflow("name: x\n" + "# pad\n" * 500 + "steps: []\n", "big.yaml")


# -- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000, 200_000])
def test_deep_json_is_our_error_never_a_recursion_error(depth: int) -> None:
    with pytest.raises(ConfigError) as err:
        loads_json("[" * depth + "]" * depth, "in.json", ConfigError)
    assert "deeper than" in err.value.first.message
    assert err.value.first.hint


def test_json_within_the_bounds_loads_and_nan_is_refused() -> None:
    nested: Any = 1
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert loads_json(json.dumps(nested), "in.json", ConfigError) == nested
    with pytest.raises(ConfigError, match="NaN"):
        loads_json('{"a": NaN}', "in.json", ConfigError)
    with pytest.raises(ConfigError) as err:
        loads_json('{"a": }', "in.json", ConfigError)
    assert err.value.first.where == "in.json:1:7"


def test_nesting_is_measured_without_recursing() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_path(deep) is not None
    assert nesting_path({"a": [1, {"b": 2}]}) is None


# -- paging ---------------------------------------------------------------------------------


def _drive_pages(per_page: int, item: Any, **caps: Any) -> tuple[TaskResult, int]:
    manifest = load_task("realtimekit.meetings.list")
    paging = paging_of(manifest)
    assert paging is not None

    def build(values: dict[str, Any]) -> Any:
        return prepare(
            manifest, values, base_url=BASE, token=None, redactor=Redactor(), require_token=False
        )

    flow = page_flow(
        paging,
        {"account_id": "a", "per_page": per_page},
        build,
        RetryPolicy(),
        max_pages=None,
        **caps,
    )
    sent = 0
    action = next(flow)
    try:
        while True:
            assert isinstance(action, Send)
            sent += 1
            outputs = {"items": [item] * per_page, "total_count": 10**9}
            page = TaskResult(ok=True, task=manifest.id, status_code=200, outputs=outputs)
            action = flow.send(Attempt(page, None, None))
    except StopIteration as done:
        return done.value, sent


def test_paging_stops_at_the_item_cap_with_a_response_error() -> None:
    result, sent = _drive_pages(100, {"id": "m"}, max_items=250)
    assert sent == 3, "the flow fetched pages past the item cap"
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "response"
    assert "250" in result.error.message
    assert "items" not in result.outputs
    assert result.outputs["pages"] == 3


def test_paging_stops_at_the_byte_cap() -> None:
    big = {"id": "m", "blob": "x" * 10_000}
    result, sent = _drive_pages(10, big, max_bytes=250_000)
    assert sent == 3  # 100 KB a page: the third page passes 250 KB
    assert result.error is not None
    assert result.error.kind == "response"
    assert "bytes" in result.error.message
    assert result.error.hint


def test_paging_has_an_item_cap_by_default() -> None:
    result, sent = _drive_pages(1000, 1)
    assert sent == DEFAULT_MAX_ITEMS // 1000 + 1
    assert result.error is not None
    assert result.error.kind == "response"


# -- the deadline ---------------------------------------------------------------------------


def test_every_call_has_a_deadline_by_default() -> None:
    assert RetryPolicy().deadline == DEFAULT_DEADLINE == 120.0
    assert RetryPolicy(deadline=None).deadline is None  # still possible, when asked for
