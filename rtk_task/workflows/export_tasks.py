"""The Conductor system tasks the exporter writes around a step's HTTP task.

The importer (:mod:`.imports.conductor`) reads these shapes back; each is written here once:

- ``when:``: a ``SWITCH`` ``S_when`` (a JavaScript condition over ``$.vN``) whose ``"true"``
  case holds the step's tasks (:func:`switch_task`);
- ``for_each``: a ``DO_WHILE`` ``S_loop`` over the list whose first task, the
  ``JSON_JQ_TRANSFORM`` ``S_item`` (:data:`LOOP_ITEM`), gives ``item`` and ``index``
  (:func:`for_each_tasks`);
- ``until: {condition, interval, timeout}`` becomes a ``DO_WHILE`` (``S_until``) whose loop
  body is the HTTP task ``S`` and a ``WAIT`` (``S_wait``), and whose ``loopCondition`` is

      (!(CONDITION)) && ($.S_until['iteration'] < N)

  with ``N = ceil(timeout / interval)`` and ``CONDITION`` written by
  :func:`~rtk_task.workflows.imports.exprs.emit` in JavaScript: ``response.body.P`` reads
  ``$.S['response']['body'][...]`` (the iteration's own output), ``response.status_code``
  ``$.S['response']['statusCode']``, and any other reference a ``$.vN`` of the loop's
  ``inputParameters``, which also carry ``interval`` and ``timeout`` as written (Conductor's
  ``WAIT`` counts whole seconds: its duration is the interval rounded up). A ``SWITCH``
  ``S_timeout`` after the loop ``TERMINATE`` s the workflow as ``FAILED`` when the condition
  still does not hold (``rtk-task run`` fails the step with a ``timeout`` error), unless the
  step has ``continue_on_error``. Later tasks read ``${S.output...}``: the last iteration's.

Meaning kept: the calls (one per iteration, at most ``N``), the condition, the failure.
Differences: the ``WAIT`` also runs after the call that met the condition (one interval
more before the next task), and the bound counts calls, not seconds.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "LOOP_ITEM",
    "UNTIL_CONDITION",
    "for_each_tasks",
    "response_chain",
    "response_js",
    "switch_task",
    "until_bound",
    "until_tasks",
]

#: The jq of a for_each loop's item task (DO_WHILE iterations count from 1).
LOOP_ITEM = '{"item": .items[.i - 1], "index": (.i - 1)}'
#: The loopCondition of an until loop: condition, loop reference, bound.
UNTIL_CONDITION = re.compile(
    r"\(!\((?P<cond>.*)\)\) && \(\$\.(?P<loop>\w+)\['iteration'\] < (?P<n>\d+)\)", re.S
)
_KEY = re.compile(r"^[^'\\\n]*$")


def switch_task(
    step_id: str, condition: str, refs: dict[str, str], tasks: list[dict[str, Any]]
) -> dict[str, Any]:
    """A ``SWITCH`` running ``tasks`` when the JavaScript ``condition`` over ``refs`` holds."""
    return {
        "name": f"{step_id}_when",
        "taskReferenceName": f"{step_id}_when",
        "type": "SWITCH",
        "evaluatorType": "javascript",
        "expression": f"({condition}) ? 'true' : 'false'",
        "inputParameters": refs,
        "decisionCases": {"true": tasks},
        "defaultCase": [],
    }


def for_each_tasks(step_id: str, items: Any, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``DO_WHILE`` running ``tasks`` once per element of ``items``, one after another."""
    loop = f"{step_id}_loop"
    item: dict[str, Any] = {
        "name": f"{step_id}_item",
        "taskReferenceName": f"{step_id}_item",
        "type": "JSON_JQ_TRANSFORM",
        "description": f"item and index of this iteration of {step_id}",
        "inputParameters": {
            "items": items,
            "i": f"${{{loop}.output.iteration}}",
            "queryExpression": LOOP_ITEM,
        },
    }
    return [
        {
            "name": loop,
            "taskReferenceName": loop,
            "type": "DO_WHILE",
            "description": f"{step_id} for each item, one after another",
            "inputParameters": {"items": items},
            "loopCondition": f"$.{loop}['iteration'] < $.items.length",
            "loopOver": [item, *tasks],
        }
    ]


def until_bound(timeout: float, interval: float) -> int:
    """The most calls an until loop makes: ``ceil(timeout / interval)``, at least 1."""
    return max(1, math.ceil(round(timeout / interval, 9)))


def response_chain(chain: tuple[str, ...]) -> list[str] | None:
    """A ``response.*`` chain as keys of Conductor's HTTP output, or ``None``."""
    if chain[:2] == ("response", "body"):
        keys = ["response", "body", *chain[2:]]
    elif chain == ("response", "status_code"):
        keys = ["response", "statusCode"]
    elif chain[:2] == ("response", "headers") and len(chain) == 3:
        keys = ["response", "headers", chain[2]]
    else:
        return None
    return keys if all(_KEY.match(k) for k in keys) else None


def response_js(step_id: str, keys: list[str]) -> str:
    """``$.S['response']['body']...``: an iteration's own output in a loopCondition."""
    return f"$.{step_id}" + "".join(f"['{k}']" for k in keys)


def until_tasks(
    step_id: str,
    call: dict[str, Any],
    *,
    loop_js: str,
    switch_js: str,
    refs: dict[str, str],
    switch_refs: dict[str, str],
    interval: float,
    timeout: float,
    condition: str,
    fail: bool,
) -> list[dict[str, Any]]:
    """The ``DO_WHILE`` (and the ``SWITCH`` that fails on timeout) of an until step."""
    loop, bound = f"{step_id}_until", until_bound(timeout, interval)
    wait = {
        "name": f"{step_id}_wait",
        "taskReferenceName": f"{step_id}_wait",
        "type": "WAIT",
        "description": f"{interval:g} s between the calls of {step_id}",
        "inputParameters": {"duration": f"{max(1, math.ceil(interval))} seconds"},
    }
    tasks: list[dict[str, Any]] = [
        {
            "name": loop,
            "taskReferenceName": loop,
            "type": "DO_WHILE",
            "description": f"{step_id} until {condition}, at most {bound} calls",
            "inputParameters": {"interval": interval, "timeout": timeout, **refs},
            "loopCondition": f"(!({loop_js})) && ($.{loop}['iteration'] < {bound})",
            "loopOver": [call, wait],
        }
    ]
    if fail:
        reason = f"until: {condition!r} was still false after {bound} calls of {step_id}"
        tasks.append(
            {
                "name": f"{step_id}_timeout",
                "taskReferenceName": f"{step_id}_timeout",
                "type": "SWITCH",
                "evaluatorType": "javascript",
                "expression": f"(!({switch_js})) ? 'true' : 'false'",
                "inputParameters": switch_refs,
                "decisionCases": {
                    "true": [
                        {
                            "name": f"{step_id}_timed_out",
                            "taskReferenceName": f"{step_id}_timed_out",
                            "type": "TERMINATE",
                            "inputParameters": {
                                "terminationStatus": "FAILED",
                                "terminationReason": reason,
                            },
                        }
                    ]
                },
                "defaultCase": [],
            }
        )
    return tasks
