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
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any

from pydantic import SecretStr
from pydantic_core import from_json

from .auth import Credential
from .compiled import compiled
from .errors import ConfigError, Problem, RtkError
from .inputs import validate_inputs
from .manifests.model import Manifest
from .providers.model import Auth, host_of
from .request import PreparedRequest, base_url_of, build_request
from .result import DOWNLOAD_OUTPUTS, ErrorInfo, TaskResult, construct, extract_tree
from .secret_sources import read_secret
from .secrets import Redactor, control_characters

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Call",
    "DeadlinePassed",
    "ResponseTooLarge",
    "dry_run",
    "envelope_errors",
    "error_result",
    "failed",
    "finish",
    "prepare",
    "preview",
    "read_credential",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: A body that is not JSON nor text is shown cut to this many characters.
DISPLAY_CHARS = 2048


class ResponseTooLarge(Exception):
    """The body passed the size cap; reading stopped there."""


class DeadlinePassed(Exception):
    """The call's deadline passed while the answer was still arriving."""


#: The key of ``Call.raw_outputs`` that holds the whole body before masking.
RAW_BODY = "@body"
#: The key of ``Call.raw_outputs`` that holds the call's :class:`Redactor` (the credential
#: and the secrets): what is made from the unmasked body is masked with it before shown.
RAW_REDACTOR = "@redactor"


@dataclass(frozen=True, slots=True)
class Call:
    """A prepared call: the request, the manifest and what to mask."""

    manifest: Manifest
    request: PreparedRequest
    redactor: Redactor
    #: Where a successful answer's body is written (a download), instead of being parsed.
    save_to: str | None = None
    #: Receives the outputs before masking, and the body as :data:`RAW_BODY`, when given and
    #: the answer held a secret (see :meth:`Client.call`).
    raw_outputs: dict[str, Any] | None = None


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
    token: SecretStr | None = None,
    redactor: Redactor,
    require_token: bool = True,
    credential: Credential | None = None,
) -> Call | TaskResult:
    """Validate and build; a :class:`TaskResult` with the problem if that fails.

    ``credential`` holds what the task's auth read (``token`` stands for the secret of a
    one-secret auth); a base URL the caller named is a host it may go to.
    """
    auth = manifest.auth
    if credential is None and token is not None and auth.type != "none":
        credential = Credential(auth, secret=token)
    try:
        validate_inputs(manifest, inputs)
        url, named = base_url_of(manifest, base_url)
        if named and credential is not None:
            credential = replace(credential, extra_hosts=(host_of(url),))
        request = build_request(manifest, inputs, base_url=url, credential=credential)
    except RtkError as exc:
        return error_result(manifest.id, exc, redactor)
    if require_token and auth.type != "none" and (credential is None or _incomplete(credential)):
        return error_result(
            manifest.id,
            ConfigError(
                f"no credential: set {' and '.join(auth.variables)}"
                + (" or pass token=" if auth.type in ("bearer", "api_key", "header") else ""),
                hint=auth.note or "the emulator accepts any token unless started with --token",
            ),
            redactor,
            request,
        )
    return Call(manifest, request, redactor)


def _incomplete(credential: Credential) -> bool:
    """Whether a credential lacks what its scheme sends (Basic needs one of its two)."""
    auth = credential.auth
    if auth.type == "basic":
        return credential.secret is None and credential.user is None
    if auth.type == "oauth2":
        return credential.secret is None or credential.user is None
    return credential.secret is None


def read_credential(auth: Auth, environ: Mapping[str, str] | None = None) -> Credential | None:
    """The credential of ``auth`` from the variables it names (each as
    :func:`~rtk_task.secret_sources.read_secret` reads it: the variable, else the file its
    ``_FILE`` variable names; ``None``: no auth, or none of them set). A value holding a
    control character is a :class:`ConfigError`."""
    if auth.type == "none":
        return None
    values: dict[str, SecretStr | None] = {}
    for key, env in (("secret", auth.env), ("user", auth.username_env)):
        value = read_secret(env, environ) if env else None  # or env's _FILE, or a source
        if value is not None and control_characters(value):
            raise ConfigError(
                Problem(
                    env,
                    "the value holds a control character (a line break?), "
                    "which no header may hold; nothing was sent",
                    f"set {env} to the value alone, on one line",
                )
            )
        values[key] = SecretStr(value) if value else None
    if values["secret"] is None and values["user"] is None:
        return None
    return Credential(auth, secret=values["secret"], user=values["user"])


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
    try:
        credential = read_credential(manifest.auth)
    except ConfigError as exc:
        return error_result(manifest.id, exc, Redactor(secrets)), ""
    if credential is None and manifest.auth.type != "none":
        # none set yet: the request and its cURL text still say where the credential goes
        credential = Credential(manifest.auth)
    return dry_run(
        manifest,
        inputs,
        base_url=base_url,
        credential=credential,
        redactor=Redactor([*(credential.values if credential else ()), *secrets]),
        secret_env=secret_env,
    )


def dry_run(
    manifest: Manifest,
    inputs: dict[str, Any],
    *,
    base_url: str | None,
    credential: Credential | None,
    redactor: Redactor,
    secret_env: Mapping[str, str] | None = None,
) -> tuple[TaskResult, str]:
    """Validate and build with this credential: a result holding the request (nothing is
    sent, ``attempts`` is 0), and the request as cURL text (empty when building failed)."""
    prepared = prepare(
        manifest,
        inputs,
        base_url=base_url,
        redactor=redactor,
        require_token=False,
        credential=credential,
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
    saved: int | None = None,
) -> TaskResult:
    """A result from a complete answer; ``headers`` by lower-case name. ``saved``: the body
    went to ``call.save_to`` (that many bytes) and is not parsed: the outputs say where."""
    redactor = call.redactor
    body: Any = None
    outputs: dict[str, Any] = {}
    error = None
    if saved is not None:  # a download: the outputs say where it went, nothing to parse
        ok = True
        where = (call.save_to, saved, headers.get("content-type", ""))
        outputs = dict(zip(DOWNLOAD_OUTPUTS, where, strict=True))
    else:
        ok, body, error = _read(call, status, headers, raw, outputs)
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


def _read(
    call: Call, status: int, headers: dict[str, str], raw: bytes, outputs: dict[str, Any]
) -> tuple[bool, Any, ErrorInfo | None]:
    """Whether the answer is a success, its body (parsed, secrets masked) and its error;
    a success's declared outputs go into ``outputs``."""
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
    masked = redactor and (redactor.contains(raw) or b"\\u" in raw or b"\0" in raw)
    if masked:
        if call.raw_outputs is not None and 200 <= status < 300 and problem is None:
            extract_tree(body, plan.output_tree, call.raw_outputs)  # before masking
            call.raw_outputs[RAW_BODY] = body
            call.raw_outputs[RAW_REDACTOR] = redactor
        body = redactor.value(body)
    ok = 200 <= status < 300 and problem is None
    if problem is not None:
        error = ErrorInfo(
            kind="response",
            message=problem,
            status_code=status,
            hint="the server's answer was not the JSON it promised",
        )
        return ok, body, error
    if not ok:
        return ok, body, _http_error(status, body, call)
    extract_tree(body, plan.output_tree, outputs)
    return ok, body, None


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
    api_errors = envelope_errors(body)
    messages = [str(e.get("message")) for e in api_errors if e.get("message")]
    reason = HTTPStatus(status).phrase if status in _KNOWN_STATUSES else "error"
    message = f"HTTP {status} {reason}" + (f": {'; '.join(messages)}" if messages else "")
    hints = {
        401: f"check {call.manifest.auth.refs or 'the auth'}",
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


def envelope_errors(body: Any) -> list[dict[str, Any]]:
    """The error objects of a failure body, in the envelopes public APIs use: ``errors`` (a
    list of objects or strings: Cloudflare, GraphQL-style), ``error`` (an object or a string:
    RealtimeKit, OAuth2's ``error_description``), a top-level ``message``, and RFC 7807
    ``application/problem+json`` (``title``, ``detail``). Empty when it has none."""
    found: list[dict[str, Any]] = []
    if not isinstance(body, dict):
        return found
    errors = body.get("errors")
    if isinstance(errors, list):
        for e in errors[:20]:
            if isinstance(e, dict):
                found.append(e)
            elif isinstance(e, str):
                found.append({"message": e})
    error = body.get("error")
    if isinstance(error, dict):
        found.append(error)
    elif isinstance(error, str):
        described = body.get("error_description")
        text = f"{error}: {described}" if isinstance(described, str) else error
        found.append({"message": text})
    if not found and isinstance(body.get("message"), str):
        found.append({"message": body["message"]})
    if not found and isinstance(body.get("detail") or body.get("title"), str):
        parts = [body.get("title"), body.get("detail")]
        found.append({"message": ": ".join(str(p) for p in parts if isinstance(p, str))})
    return found


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
