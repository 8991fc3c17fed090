"""Engine payloads: whatever dict reaches a worker's activity (Temporal) or task (Prefect),
the answer is a TaskResult with an error, never an exception out of the worker.

The functions are called directly: no Temporal or Prefect server is started. Requests can
only go to a closed loopback port (the worker's own base URL).

A malformed payload (a missing key, a definition that is not text or does not parse, a step
it does not have) is a failed result of kind ``workflow``: nothing is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from rtk_task.result import TaskResult

from .strategies import BOUNDED, JSON

#: No shrinking: a failure is reported with the example found (bounded time).
ENGINE_FUZZ = settings(BOUNDED, max_examples=60, phases=[Phase.explicit, Phase.generate])

CLOSED = "http://127.0.0.1:1/client/v4"
GOOD = (
    "name: fuzz\n"
    "steps:\n"
    "  - id: get\n"
    "    task: realtimekit.meetings.get\n"
    "    with: {account_id: acc, meeting_id: m1}\n"
    "    retry: {max_attempts: 1}\n"  # the closed port refuses at once; no backoff waits
)

payloads = st.fixed_dictionaries(
    {},
    optional={
        "definition": st.sampled_from([GOOD, "name: x\nsteps: []\n", "[" * 3000, ""]) | JSON,
        "step": st.sampled_from(["get", "nope"]) | JSON,
        "inputs": st.dictionaries(st.text(max_size=6), JSON, max_size=3) | JSON,
        "outputs": st.dictionaries(st.text(max_size=6), JSON, max_size=3) | JSON,
        "base_url": st.sampled_from([CLOSED, "http://127.0.0.2:9", None]) | JSON,
    },
)


def _an_error_result(answer: Any) -> None:
    assert isinstance(answer, dict), answer
    result = TaskResult.model_validate(answer)
    assert result.ok or result.error is not None


@ENGINE_FUZZ
@given(payloads)
def test_the_temporal_activity_answers_every_payload_with_a_result(
    payload: dict[str, Any],
) -> None:
    from rtk_task.engines.temporal import StepActivities
    from rtk_task.engines.worker import WorkerConfig

    async def run() -> Any:
        activities = StepActivities(WorkerConfig(base_url=CLOSED))
        try:
            return await activities.run_step(payload)
        finally:
            await activities.aclose()

    _an_error_result(asyncio.run(run()))


@pytest.mark.slow  # importing Prefect takes about a second
@ENGINE_FUZZ
@given(payloads)
def test_the_prefect_task_answers_every_payload_with_a_result(
    monkeypatch: pytest.MonkeyPatch, payload: dict[str, Any]
) -> None:
    from rtk_task.engines.prefect import run_step_task

    monkeypatch.setenv("RTK_BASE_URL", CLOSED)
    # the values as drawn, of any type (None when missing): a malformed payload on purpose
    answer = asyncio.run(
        run_step_task.fn(
            cast(Any, payload.get("definition")),
            cast(Any, payload.get("step")),
            cast(Any, payload.get("inputs")),
            cast(Any, payload.get("outputs")),
            payload.get("base_url"),
        )
    )
    _an_error_result(answer)
