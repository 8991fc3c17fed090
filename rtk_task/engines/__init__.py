"""Engines: where a workflow's steps run, behind one contract.

::

    engine = get_engine("temporal")          # imports temporalio only now
    run = engine.run(workflow, inputs, base_url=..., on_step=...)

Every engine is an :class:`Engine`: a ``name`` and ``run(workflow, inputs, *, base_url,
on_step, on_start) -> RunResult``. ``on_start`` hears a step before its request may leave
(the local engine as each step starts; engines that run steps elsewhere, for every step
before the run begins), so a run record can say "sent, outcome unknown" until ``on_step``.
``local`` runs the steps in this process (:func:`rtk_task.workflows.runner.run_workflow`);
``temporal`` and ``prefect`` are thin adapters that schedule with the same
:func:`~rtk_task.workflows.runner.schedule` and run each step through
:func:`~rtk_task.workflows.runner.run_step_async` on one client per worker
(:mod:`rtk_task.engines.worker`).

Guarantees: asking for an engine imports its library and nothing else; a missing extra is a
:class:`~rtk_task.errors.ConfigError` with the ``pip install`` line; an engine's own
exceptions become :class:`~rtk_task.errors.EngineError` at :func:`run_on_engine`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError, EngineError, Problem, RtkError, did_you_mean

if TYPE_CHECKING:
    from ..result import TaskResult
    from ..workflows.model import Step, Workflow
    from ..workflows.runner import RunResult

__all__ = ["ENGINES", "Engine", "OnStart", "OnStep", "get_engine", "run_on_engine", "starting"]

#: Called with each step and its result, in file order, as the run reports them.
OnStep = Callable[["Step", "TaskResult"], None]
#: Called with a step before its request may be sent.
OnStart = Callable[["Step"], None]

#: Engine name -> (module, class, the extra that installs its library or ``None``).
_REGISTRY: dict[str, tuple[str, str, str | None]] = {
    "local": ("rtk_task.engines.local", "LocalEngine", None),
    "temporal": ("rtk_task.engines.temporal", "TemporalEngine", "temporal"),
    "prefect": ("rtk_task.engines.prefect", "PrefectEngine", "prefect"),
}
#: Every engine's name, for the CLI's choices.
ENGINES: tuple[str, ...] = tuple(_REGISTRY)
#: The top-level import each extra provides (a missing one means the extra is missing).
_LIBRARIES = {"temporal": "temporalio", "prefect": "prefect"}


class Engine(Protocol):
    """Runs a workflow's steps somewhere and returns the run."""

    @property
    def name(self) -> str:
        """The engine's name, as ``--engine`` spells it."""

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
        """Run ``workflow`` with ``inputs``; ``on_start`` hears each step before it may be
        sent, ``on_step`` each finished step; ``details`` keeps every ``for_each`` item's full
        result."""


def get_engine(name: str, *, concurrency: int = 4, **options: Any) -> Engine:
    """The engine called ``name``, its library imported now; ``concurrency`` bounds how many
    independent steps run at once; ``options`` are the engine's own (Temporal:
    ``task_queue``, ``local_worker``)."""
    if name not in _REGISTRY:
        raise ConfigError(
            Problem("--engine", f"no engine called {name!r}", did_you_mean(name, ENGINES))
        )
    module_name, class_name, extra = _REGISTRY[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        library = _LIBRARIES.get(extra or "")
        if library is None or (exc.name or "").split(".")[0] != library:
            raise
        raise ConfigError(
            Problem(
                "--engine",
                f"the {name} engine needs {library}, which is not installed",
                f"pip install 'rtk-task[{extra}]'",
            )
        ) from None
    engine: Engine = getattr(module, class_name)(concurrency=concurrency, **options)
    return engine


def starting(workflow: Workflow, on_start: OnStart | None) -> None:
    """Tell ``on_start`` of every step: for engines whose steps start out of our sight."""
    if on_start is not None:
        for step in workflow.steps:
            on_start(step)


def run_on_engine(
    engine: str,
    hint: str,
    workflow: Workflow,
    start: Callable[[], Coroutine[Any, Any, dict[str, Any]]],
    on_step: OnStep | None = None,
) -> RunResult:
    """Run an engine's coroutine (it returns ``RunResult.to_json()``); its own errors become
    ours at this boundary, with ``hint``."""
    import asyncio  # here: choosing an engine (a dry run's path) starts no event loop

    from ..workflows.runner import RunResult

    try:
        data = asyncio.run(start())
    except RtkError:
        raise
    except Exception as exc:
        raise EngineError(Problem(engine, f"{type(exc).__name__}: {exc}", hint)) from None
    return RunResult.from_json(data, workflow, on_step)
