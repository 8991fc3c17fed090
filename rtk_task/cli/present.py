"""TaskResults and requests shown to a person. Only the CLI prints; this only formats."""

from __future__ import annotations

import json
from typing import Any

import click

from ..result import RequestInfo, TaskResult

__all__ = ["format_request", "format_result", "format_step_line"]


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def format_request(request: RequestInfo) -> str:
    """Method, URL, headers and body, as sent (secrets masked)."""
    lines = [click.style(f"{request.method} {request.url}", bold=True)]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    if request.body is not None:
        lines += ["", _json(request.body)]
    return "\n".join(lines)


def format_result(result: TaskResult) -> str:
    """Request, status, response body, outputs or error."""
    parts = []
    if result.request is not None:
        parts += [click.style("request", fg="cyan"), format_request(result.request), ""]
    if result.status_code is not None:
        colour = "green" if result.ok else "red"
        parts.append(
            click.style(f"response {result.status_code}", fg=colour)
            + f"  ({result.elapsed_ms:.0f} ms, {result.attempts} attempt"
            + ("s" if result.attempts != 1 else "")
            + ")"
        )
        if result.body is not None:
            parts.append(_json(result.body) if not isinstance(result.body, str) else result.body)
        parts.append("")
    if result.outputs:
        parts.append(click.style("outputs", fg="cyan"))
        parts += [f"  {k} = {json.dumps(v, ensure_ascii=False)}" for k, v in result.outputs.items()]
    if result.error is not None:
        parts.append(
            click.style(f"error ({result.error.kind}): ", fg="red", bold=True)
            + result.error.message
        )
        if result.error.hint and result.error.hint not in result.error.message:
            parts.append(f"  hint: {result.error.hint}")
    return "\n".join(parts).rstrip()


def format_step_line(step_id: str, result: TaskResult, keys: int = 3) -> str:
    """One line: status, step, time, and the first outputs."""
    mark = click.style("ok  ", fg="green") if result.ok else click.style("FAIL", fg="red")
    ranked = sorted(result.outputs.items(), key=lambda kv: _rank(kv[0]))
    shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in ranked[:keys])
    tail = shown if result.ok else (result.error.message if result.error else "")
    status = result.status_code if result.status_code is not None else "-"
    return f"{mark} {step_id:<20} {status!s:>3} {result.elapsed_ms:7.0f} ms  {tail}"


def _rank(name: str) -> int:
    """Ids first, then what people look for, then the rest."""
    from ..providers import echoed_ids

    if name.endswith("_id") and name not in echoed_ids():  # the caller's own id is no news
        return 0
    return {"token": 1, "title": 2, "status": 3, "total_count": 1, "pages": 2}.get(name, 9)
