"""The step-key registry (issue 25): every key of the workflow models has a row saying how
check, the runner, each export and the importers handle it; a key added to a model without
a row fails here, and every export that the registry says refuses a key does refuse it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import BaseModel

from rtk_task.errors import WorkflowError
from rtk_task.workflows.export import export_workflow
from rtk_task.workflows.keys import REFUSED_ON_EXPORT, STEP_KEYS, WORKFLOW_KEYS
from rtk_task.workflows.model import Step, Workflow, parse_workflow

HANDLING = re.compile(r"^(kept|n/a|translated(: .+)?|refused: .+|ignored: .+)$")


def _keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize(
    ("model", "table"), [(Step, STEP_KEYS), (Workflow, WORKFLOW_KEYS)], ids=["step", "workflow"]
)
def test_every_key_has_a_row_and_every_row_a_key(
    model: type[BaseModel], table: dict[str, Any]
) -> None:
    assert set(table) == _keys(model), "add the key to rtk_task/workflows/keys.py"
    for key, row in table.items():
        for part, handling in row._asdict().items():
            assert HANDLING.match(handling), f"{key}.{part}: {handling!r}"


#: A value of each step key an export may refuse (with what it needs beside it).
SAMPLES: dict[str, dict[str, Any]] = {
    "when": {"when": "{{ inputs.go }}"},
    "paginate": {"task": "realtimekit.meetings.list", "paginate": True},
    "max_pages": {"task": "realtimekit.meetings.list", "paginate": True, "max_pages": 2},
    "for_each": {"for_each": [1, 2]},
    "until": {"until": {"condition": "{{ response.status_code == 200 }}"}},
    "save_to": {"save_to": "meeting.json"},
    "max_items": {"for_each": [1, 2], "max_items": 5},
    "continue_on_error": {"continue_on_error": True},
    "expect": {"expect": {"status": 200}},
}


def _workflow(extra: dict[str, Any]) -> Workflow:
    step: dict[str, Any] = {
        "id": "s",
        "task": "realtimekit.meetings.get",
        "with": {"account_id": "a", "meeting_id": "m"},
    }
    if extra.get("task") == "realtimekit.meetings.list":
        step["with"] = {"account_id": "a"}
    step.update(extra)
    data = {"name": "w", "inputs": {"go": {"type": "boolean", "default": True}}, "steps": [step]}
    return parse_workflow(json.dumps(data))  # JSON is YAML


@pytest.mark.parametrize(
    ("target", "key"),
    [(t, k) for t, keys in sorted(REFUSED_ON_EXPORT.items()) for k in sorted(keys)],
)
def test_each_refusal_in_the_registry_is_the_exporters(target: str, key: str) -> None:
    assert key in SAMPLES, f"give {key!r} a sample value here"
    with pytest.raises(WorkflowError) as err:
        export_workflow(_workflow(SAMPLES[key]), target)  # type: ignore[arg-type]
    text = err.value.render()
    assert f"{key} cannot be exported to {target}" in text, text


def test_hosts_has_a_row_that_says_what_each_part_does() -> None:
    row = WORKFLOW_KEYS["hosts"]
    assert row.check == row.runner == "kept"
    assert row.simworkflow.startswith("refused: ")
    assert row.conductor.startswith("refused: ")
    assert row.importers.startswith("translated: ")


@pytest.mark.parametrize("target", ["simworkflow", "conductor"])
def test_a_templated_host_is_refused_on_export(target: str) -> None:
    data = {
        "name": "w",
        "hosts": ["a.example.com", "b.example.com"],
        "inputs": {"base": {"type": "string"}},
        "steps": [{"id": "s", "task": "http", "with": {"url": "{{ inputs.base }}/x"}}],
    }
    with pytest.raises(WorkflowError, match="hosts"):
        export_workflow(parse_workflow(json.dumps(data)), target)  # type: ignore[arg-type]
