"""Every key of a workflow file, and what each part of rtk-task does with it.

One row a key (``with`` by its YAML name): how ``check``, the runner (local, Temporal and
Prefect alike: one scheduler), each export and the importers handle it. A handling is one of

- ``"kept"``: it means the same there;
- ``"translated: HOW"``: kept through another construct;
- ``"refused: WHY"``: an error naming the field and the reason, nothing written;
- ``"ignored: WHY"``: it changes no result there (a performance hint), said so here;
- ``"n/a"``: the part has no use for it (importers: the source has no such thing).

``tests/workflows/test_keys.py`` fails when a key of the models is missing here, and checks
every ``refused`` export row against the exporter. :data:`REFUSED_ON_EXPORT` is what the
exporter reads to refuse a step key.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["REFUSED_ON_EXPORT", "STEP_KEYS", "WORKFLOW_KEYS", "Handling"]


class Handling(NamedTuple):
    """How each part of rtk-task handles one key."""

    check: str
    runner: str
    simworkflow: str
    conductor: str
    importers: str


_K = "kept"

#: Step keys.
STEP_KEYS: dict[str, Handling] = {
    "id": Handling(_K, _K, _K, "translated: taskReferenceName", "translated: node names"),
    "task": Handling(_K, _K, "translated: Http", "translated: HTTP task", "translated"),
    "with": Handling(_K, _K, "translated: httpRequest", "translated: http_request", "translated"),
    "outputs": Handling(
        _K,
        _K,
        "translated: body paths",
        "translated: response paths",
        "translated: the body paths later nodes read",
    ),
    "timeout": Handling(
        _K,
        _K,
        "translated: timeouts",
        "translated: connect/readTimeOut, timeoutSeconds",
        "translated: an n8n node's options.timeout (read)",
    ),
    "description": Handling(_K, _K, _K, _K, "translated: an n8n node's notes"),
    "when": Handling(_K, _K, "refused: no conditions", "translated: SWITCH", "translated"),
    "continue_on_error": Handling(
        _K,
        _K,
        "refused: a failed call ends a SimWorkflow run",
        "translated: optional loop items, a SWITCH that does not fail the run",
        "translated: an n8n node's onError (continue) or continueOnFail",
    ),
    "paginate": Handling(
        _K,
        _K,
        "refused: no loops",
        "refused: a DO_WHILE cannot append each page's items to the pages before (each"
        " iteration's output is kept apart, and may be trimmed), so no task holds the"
        " gathered list",
        "translated: n8n page-number pagination (an http step's `paging:`); any other kind"
        " is a note",
    ),
    "max_pages": Handling(
        _K,
        _K,
        "refused: with paginate",
        "refused: with paginate",
        "translated: n8n maxRequests",
    ),
    "retry": Handling(
        _K, _K, "translated: retry.maxAttempts", "translated: taskDefinition retry", "n/a"
    ),
    "depends_on": Handling(_K, _K, "translated: order", "translated: order", "translated"),
    "for_each": Handling(_K, _K, "refused: no loops", "translated: DO_WHILE", "n/a"),
    "concurrency": Handling(
        _K, _K, "n/a", "ignored: a DO_WHILE runs the items one at a time (same results)", "n/a"
    ),
    "until": Handling(
        _K,
        _K,
        "refused: no loops",
        "translated: DO_WHILE and WAIT",
        "translated: an n8n Wait and IF looping back to an HTTP Request node",
    ),
    "save_to": Handling(
        _K,
        _K,
        "refused: no files",
        "refused: a Conductor HTTP task keeps the answer in its output, it writes no file",
        "n/a",
    ),
    "max_items": Handling(
        _K,
        _K,
        "n/a",
        "refused: a DO_WHILE has no bound on its items (remove max_items to export)",
        "n/a",
    ),
    "expect": Handling(
        "translated: body paths checked against the response schema",
        _K,
        "refused: SimWorkflow has no assertions",
        "refused: an HTTP task has no assertions on its answer",
        "n/a",
    ),
}

#: Workflow keys.
WORKFLOW_KEYS: dict[str, Handling] = {
    "name": Handling(_K, _K, _K, _K, "translated"),
    "description": Handling(_K, _K, _K, _K, "translated"),
    "inputs": Handling(_K, _K, _K, "translated: inputParameters, inputSchema", "translated"),
    "secrets": Handling(_K, _K, "translated: ${secrets.N}", "translated: workflow.secrets", _K),
    "retry": Handling(_K, _K, "translated: per step", "translated: per taskDefinition", "n/a"),
    "steps": Handling(_K, _K, _K, "translated: tasks", "translated"),
    "rate_limit": Handling(
        _K, _K, "n/a", "translated: taskDefinition rateLimitPerFrequency", "n/a"
    ),
    "outputs": Handling(_K, _K, _K, "translated: outputParameters", "translated"),
    "hosts": Handling(
        _K,  # an http step's templated scheme and host is accepted only with it
        _K,  # such a step's rendered host must be one of them, else it fails before sending
        "refused: a SimWorkflow Http step sends to whatever its URL renders to; no host"
        " check can be kept",
        "refused: a Conductor HTTP task sends to whatever its uri renders to; no host"
        " check can be kept",
        "translated: the literal hosts of n8n URL expressions (an empty list, with a note,"
        " when none is known)",
    ),
}


def _refused(target: str) -> dict[str, str]:
    return {
        key: getattr(row, target).removeprefix("refused: ")
        for key, row in STEP_KEYS.items()
        if getattr(row, target).startswith("refused")
    }


#: Target -> step key -> why the export refuses a step that sets it.
REFUSED_ON_EXPORT: dict[str, dict[str, str]] = {
    "simworkflow": _refused("simworkflow"),
    "conductor": _refused("conductor"),
}
