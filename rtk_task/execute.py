"""One call, in stages shared by the sync and async clients.

:func:`prepare` validates and builds (nothing is sent on failure); the client sends and reads
the body up to a size cap; :func:`finish` turns the answer into a :class:`TaskResult`, and
:func:`failed` turns a transport exception into one. :func:`dry_run` (and :func:`preview`,
which reads the token from the task's ``auth.env``) is the dry run: a result holding the
request, and its cURL text. Only the clients touch the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pydantic import SecretStr
from pydantic_core import from_json

from .compiled import compiled
from .errors import ConfigError, RtkError
from .inputs import validate_inputs
from .manifests.model import Manifest
from .request import PreparedRequest, build_request, resolve_base_url
from .result import ErrorInfo, TaskResult, construct, extract_tree
from .secrets import Redactor, read_env

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Call",
    "DeadlinePassed",
    "ResponseTooLarge",
    "dry_run",
    "error_result",
    "failed",
    "finish",
    "prepare",
    "preview",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: A body that is not JSON nor text is shown cut to this many characters.
DISPLAY_CHARS = 2048


class ResponseTooLarge(Exception):
    """The body passed the size cap; reading stopped there."""


class DeadlinePassed(Exception):
    """The call's deadline passed while the answer was still arriving."""


@dataclass(frozen=True, slots=True)
class Call:
    """A prepared call: the request, the manifest and what to mask."""

    manifest: Manifest
    request: PreparedRequest
    redactor: Redactor


def error_result(
    task: str, exc: RtkError, redactor: Redactor, request: PreparedRequest | None = None
) -> TaskResult:
    """A result for a problem found before sending."""
    first = exc.first
    return TaskResult(
        ok=False,
        task=task,
        error=ErrorInfo(
            kind=exc.kind,
            message=redactor.text(exc.render()),
            field_path=first.where or None,
            hint=redactor.text(first.hint) or None,
        ),
        request=request.info(redactor) if request else None,
    )


def prepare(
    manifest: Manifest,
    inputs: dict[str, Any],
    *,
    base_url: str | None,
    token: SecretStr | None,
    redactor: Redactor,
    require_token: bool = True,
) -> Call | TaskResult:
    """Validate and build; a :class:`TaskResult` with the problem if that fails."""
    try:
        validate_inputs(manifest, inputs)
        request = build_request(
            manifest, inputs, base_url=resolve_base_url(manifest, base_url), token=token
        )
    except RtkError as exc:
        return error_result(manifest.id, exc, redactor)
    if token is None and require_token and manifest.auth.type != "none":
        return error_result(
            manifest.id,
            ConfigError(
                f"no API token: set {manifest.auth.env} or pass token=",
                hint="the emulator accepts any token unless started with --token",
            ),
            redactor,
            request,
        )
    return Call(manifest, request, redactor)


def preview(
    manifest: Manifest,
    inputs: dict[str, Any],
    *,
    base_url: str | None = None,
    secrets: Iterable[str] = (),
    secret_env: Mapping[str, str] | None = None,
) -> tuple[TaskResult, str]:
    """A dry run: a result holding the request that would be sent, and its cURL text.

    The token comes from the task's own environment variable (``auth.env``), is optional and
    is shown masked. In the cURL text the token and each secret of ``secret_env`` (value ->
    variable) are read from their variables. Needs no HTTP client, so a dry run never loads
    one.
    """
    token = read_env(manifest.auth.env) or None
    return dry_run(
        manifest,
        inputs,
        base_url=base_url,
        token=SecretStr(token) if token else None,
        redactor=Redactor([token, *secrets]),
        secret_env=secret_env,
    )


def dry_run(
    manifest: Manifest,
    inputs: dict[str, Any],
    *,
    base_url: str | None,
    token: SecretStr | None,
    redactor: Redactor,
    secret_env: Mapping[str, str] | None = None,
) -> tuple[TaskResult, str]:
    """Validate and build with this token: a result holding the request (nothing is sent,
    ``attempts`` is 0), and the request as cURL text (empty when building failed)."""
    prepared = prepare(
        manifest, inputs, base_url=base_url, token=token, redactor=redactor, require_token=False
    )
    if isinstance(prepared, TaskResult):
        return prepared, ""
    request = prepared.request
    result = construct(TaskResult, ok=True, task=manifest.id, request=request.info(redactor))
    return result, request.curl(redactor, secret_env)


def finish(
    call: Call,
    status: int,
    headers: dict[str, str],
    raw: bytes,
    *,
    attempts: int,
    elapsed_ms: float,
) -> TaskResult:
    """A result from a complete answer; ``headers`` by lower-case name."""
    redactor = call.redactor
    plan = compiled(call.manifest)
    content_type = headers.get("content-type", "")
    lowered = content_type.lower()
    body, problem = _parse(lowered, raw, redactor)
    wrong_type = problem is None and bool(raw) and "json" not in lowered and plan.promises_json
    if wrong_type and 200 <= status < 300:
        problem = f"expected a JSON answer, got {content_type or 'no content type'}"
    # a secret the raw bytes do not show as such can still be in the parsed body: written
    # with \u escapes, or in UTF-16/32 (NUL bytes) JSON
    if redactor and (redactor.contains(raw) or b"\\u" in raw or b"\0" in raw):
        body = redactor.value(body)
    ok = 200 <= status < 300 and problem is None
    error = None
    outputs: dict[str, Any] = {}
    if problem is not None:
        error = ErrorInfo(
            kind="response",
            message=problem,
            status_code=status,
            hint="the server's answer was not the JSON it promised",
        )
    elif not ok:
        error = _http_error(status, body, call)
    else:
        extract_tree(body, plan.output_tree, outputs)
    # our own values, typed as the model says: constructing skips validating them again
    return construct(
        TaskResult,
        ok=ok,
        task=call.manifest.id,
        status_code=status,
        headers=redactor.headers(headers.items()),
        body=body,
        outputs=outputs,
        error=error,
        attempts=attempts,
        elapsed_ms=round(elapsed_ms, 3),
        request=call.request.info(redactor),
        skipped=False,
    )


def failed(call: Call, exc: Exception, *, attempts: int, elapsed_ms: float) -> TaskResult:
    """A result from a transport failure, saying whether the server may have acted."""
    import httpx  # loaded already: only a send fails this way

    idempotent = call.manifest.idempotent
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        kind, hint = "connect", "the server did not get the request; check --base-url"
    elif isinstance(exc, ResponseTooLarge):
        kind, hint = "response", "the server's answer passed the size cap (max_response_bytes)"
    elif isinstance(exc, DeadlinePassed) and idempotent:
        kind, hint = "timeout", "raise the deadline, or retry: the operation is idempotent"
    elif idempotent and isinstance(exc, httpx.TimeoutException):
        kind, hint = "timeout", "raise the step's timeout, or retry: the operation is idempotent"
    elif idempotent:
        kind, hint = "remote", "retrying is safe: the operation is idempotent"
    else:
        kind, hint = "ambiguous", _ambiguous_hint(call)
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return TaskResult(
        ok=False,
        task=call.manifest.id,
        error=ErrorInfo(kind=kind, message=call.redactor.text(message), hint=hint),
        attempts=attempts,
        elapsed_ms=round(elapsed_ms, 3),
        request=call.request.info(call.redactor),
    )


def _parse(content_type: str, raw: bytes, redactor: Redactor) -> tuple[Any, str | None]:
    """The body by its (lower-case) content type, and what is wrong with it, if anything.

    A body kept as text only for display is cut to :data:`DISPLAY_CHARS` by the redactor, so
    a secret across the cut does not show its first part.
    """
    if not raw:
        return None, None
    if "json" in content_type:
        try:
            return from_json(raw), None
        except ValueError as exc:
            try:
                # what the fast parser refuses and JSON allows: a BOM, UTF-16 or UTF-32
                return json.loads(raw), None
            except (ValueError, RecursionError):
                shown = _display(raw, redactor)
                return shown, f"malformed JSON body: {exc}"
    if content_type.startswith("text/") or not content_type:
        return raw.decode("utf-8", "replace"), None
    return _display(raw, redactor), None


def _display(raw: bytes, redactor: Redactor) -> str:
    """The start of ``raw`` as text, cut to :data:`DISPLAY_CHARS`, secrets masked."""
    # 4 bytes a character at most, and room for a secret that straddles the cut
    text = raw[: 4 * DISPLAY_CHARS + 4096].decode("utf-8", "replace")
    return redactor.cut(text, DISPLAY_CHARS)


def _http_error(status: int, body: Any, call: Call) -> ErrorInfo:
    """The error of a failure status, with the API's own messages (the provider's envelope)."""
    from .providers.cloudflare import api_errors as envelope_errors  # a failure's path only

    api_errors = envelope_errors(body)
    messages = [str(e.get("message")) for e in api_errors if e.get("message")]
    reason = HTTPStatus(status).phrase if status in _KNOWN_STATUSES else "error"
    message = f"HTTP {status} {reason}" + (f": {'; '.join(messages)}" if messages else "")
    hints = {
        401: f"check {call.manifest.auth.env}",
        403: "the token lacks a permission",
        404: _not_found_hint(call),
        429: "rate limited: wait and retry",
    }
    if status >= 500 and not call.manifest.idempotent:
        # the server may have acted before failing: never resend blindly
        return ErrorInfo(
            kind="ambiguous",
            message=message,
            status_code=status,
            api_errors=api_errors,
            hint=_ambiguous_hint(call),
        )
    return ErrorInfo(
        kind="http",
        message=message,
        status_code=status,
        api_errors=api_errors,
        hint=hints.get(status) or ("the server failed" if status >= 500 else None),
    )


_KNOWN_STATUSES = frozenset(HTTPStatus)


def _not_found_hint(call: Call) -> str:
    """A 404's hint: the API prefix, when the base URL lacks the manifest server's path."""
    from urllib.parse import urlsplit

    servers = call.manifest.servers
    prefix = urlsplit(servers[0]).path.rstrip("/") if servers else ""
    url = urlsplit(call.request.url)
    templates = compiled(call.manifest).templates
    lead = templates[0][0][0] if templates else ""  # the text before the first placeholder
    cut = url.path.find(lead) if lead else -1
    if not prefix or cut < 0:
        return "check the ids in the path"
    base = url.path[:cut].rstrip("/")
    if base.endswith(prefix):
        return "check the ids in the path"
    origin = f"{url.scheme}://{url.netloc}{base}"
    return call.redactor.text(
        f"the base URL {origin} lacks the API prefix {prefix}: try --base-url {origin}{prefix}"
    )


def _ambiguous_hint(call: Call) -> str:
    what = call.manifest.id.split(".")[-2] if "." in call.manifest.id else "it"
    return (
        f"{call.request.method} may or may not have taken effect; it was not resent. "
        f"Check before retrying (e.g. list {what} and look for yours)"
    )
