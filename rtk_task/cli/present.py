"""TaskResults and requests shown to a person. Only the CLI prints; this only formats.

The one-line forms (:func:`format_step_line`, :func:`format_output_line`: ``run`` and
``demo``) show credentials the API returns shortened (:func:`shorten_credentials`): a value
named like one (``token``, ``*_token``, ``secret``, ``password``, ``api_key``...) or shaped
like a JWT becomes ``eyJhbG…x9Q2 (312 chars)``. It stays whole in ``--json`` and run records,
which never come through here. A step's line stays one line however many items its
``for_each`` had: it says how many, and shows the first :data:`LINE_ITEMS` of each list.
"""

from __future__ import annotations

import json
import re
from typing import Any

import click

from ..result import RequestInfo, TaskResult

__all__ = [
    "format_expectation",
    "format_output_line",
    "format_request",
    "format_result",
    "format_step_line",
    "is_credential_name",
    "shorten_credentials",
    "show_value",
]

#: Names (snake_case, or camelCase made so) of values that are credentials.
_CREDENTIAL = re.compile(
    r"(^|_)(token|secret|password|passwd|api_?key|private_key|access_key|secret_key)$"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
#: ``header.payload.signature``: three base64url parts (the signature may be empty).
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_JWT_MIN = 40
#: Shorter credentials show no characters at all: a head and a tail would be most of them.
_KEEP_ENDS_MIN = 20
#: The elements of a list a step's line shows (a ``for_each`` step's outputs are lists).
LINE_ITEMS = 3


def is_credential_name(name: str) -> bool:
    """Whether a field or output called ``name`` holds a credential (``join_token``...)."""
    return bool(_CREDENTIAL.search(_CAMEL.sub("_", name).lower().replace("-", "_")))


def shorten_credentials(value: Any, name: str | None = None) -> Any:
    """``value`` (a copy) with every credential string in it shortened, for a person to read.

    A string is one if its key (``name`` at the top) is a credential's name, or if it is a
    JWT of 40 characters or more. ``eyJhbGciOi...x9Q2`` becomes ``eyJhbG…x9Q2 (312 chars)``;
    one under 20 characters shows none of them (``… (8 chars)``). A masked value is left.
    """
    if isinstance(value, str):
        named = name is not None and is_credential_name(name)
        if value and (named or (len(value) >= _JWT_MIN and _JWT.fullmatch(value))):
            return _shortened(value)
        return value
    if isinstance(value, dict):
        return {k: shorten_credentials(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shorten_credentials(v, name) for v in value]
    return value


def _shortened(text: str) -> str:
    from ..secrets import MASK

    if MASK in text:
        return text  # masked already: nothing of it to show
    if len(text) < _KEEP_ENDS_MIN:
        return f"… ({len(text)} chars)"
    return f"{text[:6]}…{text[-4:]} ({len(text)} chars)"


def show_value(name: str, value: Any) -> str:
    """An output's value on one line: JSON, or a shortened credential as it is (no quotes)."""
    short = shorten_credentials(value, name)
    if isinstance(value, str) and short != value:
        return str(short)
    return json.dumps(short, ensure_ascii=False)


def format_output_line(name: str, value: Any) -> str:
    """``output NAME: VALUE``, as ``run`` prints a workflow's outputs."""
    return f"output {name}: {show_value(name, value)}"


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
    if result.expectations:
        parts.append(click.style("expect", fg="cyan"))
        parts += [format_expectation(line) for line in result.expectations]
    if result.error is not None:
        parts.append(
            click.style(f"error ({result.error.kind}): ", fg="red", bold=True)
            + result.error.message
        )
        if result.error.hint and result.error.hint not in result.error.message:
            parts.append(f"  hint: {result.error.hint}")
    return "\n".join(parts).rstrip()


def format_expectation(line: dict[str, Any]) -> str:
    """One ``expect:`` line: pass or fail, what it says, and why it failed."""
    if line.get("ok"):
        return click.style("  pass ", fg="green") + str(line.get("expect"))
    why = line.get("why") or f"got {json.dumps(line.get('actual'), ensure_ascii=False)[:200]}"
    return click.style("  FAIL ", fg="red") + f"{line.get('expect')}: {why}"


def format_step_line(step_id: str, result: TaskResult, keys: int = 3) -> str:
    """One line: status, step, time, and the first outputs (credentials shortened); for a
    ``for_each`` step, how many items, and the first few of each output's list."""
    mark = click.style("ok  ", fg="green") if result.ok else click.style("FAIL", fg="red")
    ranked = sorted(result.outputs.items(), key=lambda kv: _rank(kv[0]))
    shown = ", ".join(f"{k}={_brief(k, v)}" for k, v in ranked[:keys])
    tail = shown if result.ok else (result.error.message if result.error else "")
    count = _items(result)
    if count is not None and result.ok:
        tail = f"{count:,} items" + (f": {tail}" if tail else "")
    status = result.status_code if result.status_code is not None else "-"
    return f"{mark} {step_id:<20} {status!s:>3} {result.elapsed_ms:7.0f} ms  {tail}"


def _brief(name: str, value: Any) -> str:
    """:func:`show_value` of a list's first :data:`LINE_ITEMS` elements and how many more."""
    if isinstance(value, list) and len(value) > LINE_ITEMS:
        head = show_value(name, value[:LINE_ITEMS])
        return f"{head[:-1]}, … {len(value) - LINE_ITEMS:,} more]"
    return show_value(name, value)


def _items(result: TaskResult) -> int | None:
    """How many items a ``for_each`` step's result is of (its summary body), else ``None``."""
    body = result.body
    if result.status_code is None and isinstance(body, dict) and "not_run" in body:
        items = body.get("items")
        return items if isinstance(items, int) else None
    return None


def _rank(name: str) -> int:
    """Ids first, then what people look for, then the rest."""
    from ..providers import echoed_ids

    if name.endswith("_id") and name not in echoed_ids():  # the caller's own id is no news
        return 0
    return {"token": 1, "title": 2, "status": 3, "total_count": 1, "pages": 2}.get(name, 9)
