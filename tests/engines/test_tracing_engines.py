"""Traces on the engines: the three-step workflow on Temporal (a dev server and this
process's worker, with Temporal's tracing interceptor) and on Prefect (the session's API) is
one trace, the run's span above each step's, each step's above its HTTP attempt's.

The tracer provider and its in-memory exporter are :mod:`tests.core.test_tracing`'s (one
provider per process).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rtk_task.engines import get_engine
from rtk_task.workflows.model import load_workflow

from ..core.test_tracing import (
    ancestors,
    assert_clean,
    assert_nested,
    assert_one_trace,
    attempts,
    by_name,
    recording,
)
from ..helpers import MEETING_FLOW

pytestmark = pytest.mark.slow

__all__ = ["recording"]  # the fixture, used here by name

STEPS = ["create_meeting", "add_host", "get_meeting"]


def _run(engine: str, base_url: str, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    wf = load_workflow(MEETING_FLOW)
    run = get_engine(engine).run(wf, {}, base_url=base_url)
    assert run.ok, {k: r.error for k, r in run.steps.items()}
    return list(exporter.get_finished_spans())


def _check(spans: Sequence[ReadableSpan], engine: str) -> ReadableSpan:
    """One trace: the run's span at the top, each step's under it, each attempt under a
    step's; nothing secret anywhere. The run's span."""
    assert_one_trace(spans)
    top = by_name(spans, "rtk-task run onboard-call")
    assert top.parent is None
    assert top.attributes == {"rtk.workflow.name": "onboard-call", "rtk.engine": engine}
    assert_nested(top, spans, STEPS)
    assert len(attempts(spans)) == 3
    assert_clean(spans)
    return top


@pytest.mark.timeout(240)
def test_a_temporal_run_is_one_trace_through_the_workflow_and_its_activities(
    emulator: Any, recording: InMemorySpanExporter
) -> None:
    spans = _run("temporal", emulator.base_url, recording)
    _check(spans, "temporal")
    assert "RunWorkflow:rtk_task.RunWorkflow" in {s.name for s in spans}
    for step_id in STEPS:
        step = by_name(spans, f"step {step_id}")
        above = [s.name for s in ancestors(step, spans)]
        # made in the activity, under Temporal's spans: the activity's run, the workflow's
        # scheduling of it, the client's start of the workflow, and the run's span on top
        assert above == [
            "RunActivity:rtk_task.run_step",
            "StartActivity:rtk_task.run_step",
            "StartWorkflow:rtk_task.RunWorkflow",
            "rtk-task run onboard-call",
        ]


@pytest.mark.timeout(240)
def test_a_prefect_run_is_one_trace_through_the_flow_and_its_tasks(
    emulator: Any, prefect_api: str, recording: InMemorySpanExporter
) -> None:
    spans = _run("prefect", emulator.base_url, recording)
    _check(spans, "prefect")
    # the flow runs in the run's context: Prefect's flow span is under the run's span; each
    # step's span is the scheduler's (in the flow), Prefect's task span under it, the
    # attempt under that
    wf = load_workflow(MEETING_FLOW)
    for step_id in STEPS:
        step = by_name(spans, f"step {step_id}")
        assert step.attributes == {"rtk.step.id": step_id, "rtk.task.id": wf.step(step_id).task}
        above = [s.name for s in ancestors(step, spans)]
        assert above == ["onboard-call (3 steps)", "rtk-task run onboard-call"], above
    for call in attempts(spans):
        above = [s.name for s in ancestors(call, spans)]
        assert len(above) == 4, above
        task_run, step_name, *top = above
        assert task_run.startswith(f"{step_name}-"), above  # Prefect's task run of the step
        assert top == ["onboard-call (3 steps)", "rtk-task run onboard-call"]


@pytest.mark.timeout(240)
def test_a_prefect_flow_run_started_elsewhere_makes_its_own_run_span(
    emulator: Any, prefect_api: str, recording: InMemorySpanExporter, monkeypatch: Any
) -> None:
    """A deployment's flow run on a remote worker: no ``PrefectEngine.run`` around it, the
    worker's settings from its environment. The flow makes the run's span itself, under
    Prefect's flow span, with every step and attempt under it."""
    import asyncio

    from rtk_task.engines.prefect import workflow_flow

    monkeypatch.setenv("RTK_BASE_URL", emulator.base_url)
    wf = load_workflow(MEETING_FLOW)
    result = asyncio.run(workflow_flow(wf.definition(), wf.resolve_inputs({}), emulator.base_url))
    assert result["ok"] is True, result
    spans = list(recording.get_finished_spans())
    assert_one_trace(spans)
    top = by_name(spans, "rtk-task run onboard-call")
    assert top.attributes == {"rtk.workflow.name": "onboard-call", "rtk.engine": "prefect"}
    assert top.parent is not None  # under Prefect's own span of the flow run
    assert sum(s.name == "rtk-task run onboard-call" for s in spans) == 1
    assert_nested(top, spans, STEPS)
    assert len(attempts(spans)) == 3
    assert_clean(spans)
