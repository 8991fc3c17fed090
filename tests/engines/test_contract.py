"""The engine contract: the registry, the boundary's error mapping, the retry mapping."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from rtk_task.engines import ENGINES, get_engine, run_on_engine
from rtk_task.engines.worker import MARGIN, WorkerConfig, step_options
from rtk_task.errors import ConfigError, EngineError, WorkflowError
from rtk_task.workflows.model import parse_workflow

WORKFLOW = """
name: retry-mapping
retry: {max_attempts: 5, deadline: 40}
steps:
  - id: create
    task: realtimekit.meetings.create
    with: {account_id: a, title: t}
  - id: get_default
    task: realtimekit.meetings.get
    with: {account_id: a, meeting_id: "{{ steps.create.outputs.meeting_id }}"}
  - id: get_own
    task: realtimekit.meetings.get
    retry: {max_attempts: 2}
    timeout: {connect: 1, read: 4}
    with: {account_id: a, meeting_id: "{{ steps.create.outputs.meeting_id }}"}
"""


def _in_child(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter (what is imported is per process)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_every_engine_is_registered_and_named_as_asked() -> None:
    assert ENGINES == ("local", "temporal", "prefect")
    engine = get_engine("local", concurrency=2)
    assert engine.name == "local"


def test_an_unknown_engine_is_a_config_error_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as caught:
        get_engine("temporall")
    assert caught.value.first.hint == "did you mean 'temporal'?"


def test_the_local_engine_imports_neither_temporal_nor_prefect() -> None:
    done = _in_child(
        "import sys\n"
        "from rtk_task.engines import get_engine\n"
        "get_engine('local')\n"
        "print(sorted(m for m in ('temporalio', 'prefect') if m in sys.modules))\n"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("engine", "library"), [("temporal", "temporalio"), ("prefect", "prefect")]
)
def test_a_missing_extra_is_a_config_error_with_the_pip_line(engine: str, library: str) -> None:
    done = _in_child(
        "import sys\n"
        f"sys.modules[{library!r}] = None  # as if not installed\n"
        "from rtk_task.engines import get_engine\n"
        "from rtk_task.errors import ConfigError\n"
        "try:\n"
        f"    get_engine({engine!r})\n"
        "except ConfigError as exc:\n"
        "    print(exc.first.hint)\n"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"pip install 'rtk-task[{engine}]'"


def test_a_foreign_engine_failure_becomes_an_engine_error_and_ours_pass_through() -> None:
    wf = parse_workflow(WORKFLOW, "<test>")

    async def broken() -> dict[str, Any]:
        raise RuntimeError("server went away")

    async def ours() -> dict[str, Any]:
        raise WorkflowError([])

    with pytest.raises(EngineError) as caught:
        run_on_engine("temporal", "is it running?", wf, broken)
    assert caught.value.first.message == "RuntimeError: server went away"
    assert caught.value.first.hint == "is it running?"
    with pytest.raises(WorkflowError):
        run_on_engine("temporal", "is it running?", wf, ours)


def test_a_step_without_retry_takes_the_workflows_and_a_create_is_never_retried() -> None:
    wf = parse_workflow(WORKFLOW, "<test>")
    create, get_default, get_own = (wf.step(s) for s in ("create", "get_default", "get_own"))
    assert step_options(wf, get_default, idempotent=True).attempts == 5
    assert step_options(wf, get_default, idempotent=True).timeout == 40 + MARGIN
    assert step_options(wf, create, idempotent=False).attempts == 1
    own = step_options(wf, get_own, idempotent=True)
    assert (own.attempts, own.timeout) == (2, 2 * (1 + 4) + MARGIN)


def test_temporal_activity_options_follow_the_workflow_retry() -> None:
    from rtk_task.engines.temporal import _activity_options

    wf = parse_workflow(WORKFLOW, "<test>")
    default = _activity_options(wf, wf.step("get_default"), idempotent=True)
    create = _activity_options(wf, wf.step("create"), idempotent=False)
    assert default["retry_policy"].maximum_attempts == 5
    assert default["start_to_close_timeout"].total_seconds() == 40 + MARGIN
    assert create["retry_policy"].maximum_attempts == 1


def test_prefect_task_options_follow_the_workflow_retry() -> None:
    from rtk_task.engines.prefect import _task_options

    wf = parse_workflow(WORKFLOW, "<test>")
    default = _task_options(wf, wf.step("get_default"))
    assert (default["retries"], default["timeout_seconds"]) == (4, 40 + MARGIN)
    assert _task_options(wf, wf.step("create"))["retries"] == 0
    assert _task_options(wf, wf.step("get_own"))["retries"] == 1


def test_a_worker_refuses_another_base_url_and_secrets_it_does_not_allow() -> None:
    wf = parse_workflow(
        "name: s\nsecrets: {key: AWS_SECRET_ACCESS_KEY}\nsteps:\n"
        "  - id: get\n    task: realtimekit.meetings.get\n"
        "    with: {account_id: a, meeting_id: m}\n",
        "<test>",
    )
    config = WorkerConfig("http://127.0.0.1:1/client/v4", frozenset({"OTHER"}))
    refused = config.refused("t", wf, "https://evil.example/client/v4", "<payload>")
    assert refused is not None
    assert refused.error is not None
    assert refused.error.kind == "config"
    assert not refused.sent
    with pytest.raises(ConfigError) as caught:
        config.check(wf, "https://evil.example/client/v4", "<payload>")
    assert [p.where for p in caught.value.problems] == [
        "<payload>.base_url",
        "<payload>.secrets.key",
    ]
    allowed = WorkerConfig("http://127.0.0.1:1/client/v4/", frozenset({"AWS_SECRET_ACCESS_KEY"}))
    assert allowed.refused("t", wf, "http://127.0.0.1:1/client/v4", "<payload>") is None
    assert allowed.refused("t", wf, None, "<payload>") is None


def test_worker_config_comes_from_the_environment() -> None:
    config = WorkerConfig.from_env(
        {"RTK_BASE_URL": "http://127.0.0.1:9/v4", "RTK_ALLOW_SECRETS": "A, B C"}
    )
    assert config == WorkerConfig("http://127.0.0.1:9/v4", frozenset({"A", "B", "C"}))
