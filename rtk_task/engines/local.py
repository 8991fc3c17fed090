"""The local engine: a workflow's steps in this process, over one client.

A thin :class:`~rtk_task.engines.Engine` over :func:`rtk_task.workflows.runner.run_workflow`:
the steps run in dependency order, at most ``concurrency`` at once, on one connection pool,
and ``on_step`` hears each step as it finishes. Nothing beyond the core is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..workflows.model import Workflow
from ..workflows.runner import RunResult, run_workflow
from . import OnStart, OnStep

__all__ = ["LocalEngine"]


class LocalEngine:
    """Runs the steps here (``rtk-task run --engine local``, the default)."""

    name = "local"

    def __init__(self, *, concurrency: int = 4) -> None:
        self.concurrency = concurrency

    def run(
        self,
        workflow: Workflow,
        inputs: Mapping[str, Any],
        *,
        base_url: str | None = None,
        on_step: OnStep | None = None,
        on_start: OnStart | None = None,
        details: bool = False,
    ) -> RunResult:
        """Run ``workflow`` in this process; ``on_step`` hears each step as it finishes;
        ``details`` keeps every ``for_each`` item's full result."""
        return run_workflow(
            workflow,
            inputs,
            base_url=base_url,
            concurrency=self.concurrency,
            on_step=on_step,
            on_start=on_start,
            details=details,
        )
