"""Run workflow for the page: the run in a thread, each step's result sent as it finishes.

A :class:`RunStream` is made only after the workflow passed the whole check and its run record
was written (nothing is sent before both). :meth:`RunStream.events` starts the run and yields
server-sent events (``text/event-stream``): ``begin`` (the steps, the record), ``start`` when a
step's request may leave, ``step`` with its result when it finishes, then ``done`` (``ok``, the
workflow's outputs) or ``error``. The record is kept up to date as ``rtk-task run`` keeps it;
a page that goes away does not stop the run, which finishes and completes its record. Every
event passes through the session's :class:`~rtk_task.secrets.Redactor`.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

from ..result import TaskResult
from ..secrets import Redactor
from ..workflows.model import Step, Workflow
from ..workflows.records import RunRecord

__all__ = ["RunStream", "sse"]

#: Events after which the stream ends.
_LAST = frozenset({"done", "error"})


def sse(event: str, data: Any) -> str:
    """One server-sent event: its name and one line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class RunStream:
    """One workflow run, started by :meth:`events` and reported step by step."""

    def __init__(
        self,
        workflow: Workflow,
        inputs: dict[str, Any],
        *,
        base_url: str,
        credentials: dict[str, str] | None,
        redactor: Redactor,
        record: RunRecord,
    ) -> None:
        self.workflow, self.inputs = workflow, inputs
        self.base_url, self.credentials = base_url, credentials
        self.redactor, self.record = redactor, record
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._thread: threading.Thread | None = None

    def events(self) -> Iterator[str]:
        """Start the run (once) and yield its events until ``done`` or ``error``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rtk-ui-run", daemon=True)
            self._thread.start()
        yield sse(
            "begin",
            {"steps": [s.id for s in self.workflow.steps], "record": str(self.record.path)},
        )
        while True:
            event, data = self._queue.get()
            yield sse(event, self.redactor.value(data))
            if event in _LAST:
                return

    def _started(self, step: Step) -> None:
        self.record.started(step.id, step.task)
        self._queue.put(("start", {"step": step.id}))

    def _finished(self, step: Step, result: TaskResult) -> None:
        self.record.finished(step.id, result)
        self._queue.put(("step", {"step": step.id, "result": result.model_dump(mode="json")}))

    def _run(self) -> None:
        from ..workflows.runner import run_workflow

        try:
            done = run_workflow(
                self.workflow,
                self.inputs,
                base_url=self.base_url,
                credentials=self.credentials,
                on_start=self._started,
                on_step=self._finished,
            )
        except BaseException as exc:  # reported to the page; the record says how it ended
            self.record.end(ok=False, state="crashed")
            self._queue.put(("error", {"message": f"{type(exc).__name__}: {exc}"}))
            return
        self.record.end(ok=done.ok)
        self._queue.put(
            (
                "done",
                {
                    "ok": done.ok,
                    "outputs": done.outputs,
                    "output_error": done.output_error,
                    "record": str(self.record.path),
                    "record_error": self.record.error.render() if self.record.error else None,
                },
            )
        )
