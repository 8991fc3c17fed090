"""TaskResult: what a step did, as plain JSON, and output extraction from a response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic.fields import FieldInfo

from .errors import NOT_SENT, ErrorKind, Problem, RemoteError, error_class

#: The outputs of a download (a call with ``save_to``): where, how many bytes, of what type.
DOWNLOAD_OUTPUTS = ("file", "bytes", "content_type")

__all__ = [
    "DOWNLOAD_OUTPUTS",
    "NOT_SENT",
    "SEALED",
    "ErrorInfo",
    "OutputTree",
    "RequestInfo",
    "TaskResult",
    "chained",
    "construct",
    "extract_parts",
    "extract_tree",
    "unsealed",
    "visible",
]


class _Plain(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ErrorInfo(_Plain):
    """Why a step failed."""

    kind: ErrorKind
    message: str
    status_code: int | None = None
    api_errors: list[dict[str, JsonValue]] = []
    field_path: str | None = None
    hint: str | None = None


class RequestInfo(_Plain):
    """The request as sent (or as it would be sent), secrets masked."""

    method: str
    url: str
    headers: dict[str, str]
    body: JsonValue = None


class TaskResult(_Plain):
    """The outcome of one call. ``model_dump(mode="json")`` is plain JSON."""

    ok: bool
    task: str
    status_code: int | None = None
    headers: dict[str, str] = {}
    body: JsonValue = None
    outputs: dict[str, JsonValue] = {}
    error: ErrorInfo | None = None
    attempts: int = 0
    elapsed_ms: float = 0.0
    request: RequestInfo | None = None
    #: The step did not run (its ``when`` was false, or the run stopped before it).
    skipped: bool = False
    #: Outputs (by name) whose value is a workflow secret's (by name): masked here, passed on
    #: to later steps as the secret's value (:func:`chained`, :func:`unsealed`).
    secret_outputs: dict[str, str] = {}
    #: The step's ``expect:`` lines, each ``{"expect", "ok", "actual"[, "why"]}``.
    expectations: list[dict[str, JsonValue]] = []

    @property
    def sent(self) -> bool:
        """Whether the request may have reached the server: an answer came, an attempt was
        made, or the error is of a kind found only after sending (an output template that
        fails after a 201 is ``template``, and the request still went out)."""
        if self.status_code is not None or self.attempts:
            return True
        return self.error is None or self.error.kind not in NOT_SENT

    def raise_for_error(self) -> TaskResult:
        """Raise the error class of ``error.kind`` when the call failed; else return self.

        A validation failure raises :class:`~rtk_task.InputError`, a template one
        :class:`~rtk_task.TemplateError`, a remote failure :class:`~rtk_task.RemoteError`
        (with the same ``kind`` and ``status_code``), and so on.
        """
        error = self.error
        if error is None:
            return self
        problem = Problem(error.field_path or self.task, error.message, error.hint or "")
        cls = error_class(error.kind)
        if cls is RemoteError:
            raise RemoteError(problem, kind=error.kind, status_code=error.status_code)
        raise cls(problem)


_M = TypeVar("_M", bound=BaseModel)


def construct(cls: type[_M], **values: Any) -> _M:
    """A model from values that are already of its types, with no validation.

    Like ``model_construct`` without its per-field loop: every field must be given, or have
    its default filled here from ``model_fields``. For the per-call path only, where the
    values are our own (a result built from a parsed body and our request).
    """
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS.setdefault(cls, dict(cls.model_fields))
    if len(values) != len(fields):
        for name, field in fields.items():
            if name not in values:
                values[name] = field.get_default(call_default_factory=True)
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


#: The fields of each model :func:`construct` has built (a class's fields never change).
_FIELDS: dict[type[BaseModel], dict[str, FieldInfo]] = {}


def extract_parts(body: Any, parts: tuple[str, ...]) -> tuple[bool, Any]:
    """``(found, value)`` at a path of parts (``("data", "items", "0", "id")``) in a body."""
    node = body
    for part in parts:
        if isinstance(node, dict):
            if part not in node:
                return False, None
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(node) <= index < len(node):
                return False, None
            node = node[index]
        else:
            return False, None
    return True, node


#: Declared outputs as a tree of path parts: ``(names found here, {part: subtree})``.
OutputTree = tuple[tuple[str, ...], dict[str, "OutputTree"]]


def extract_tree(body: Any, tree: OutputTree, out: dict[str, Any]) -> None:
    """Fill ``out`` with every output of ``tree`` found in ``body`` (one walk)."""
    names, children = tree
    for name in names:
        out[name] = body
    if children:
        _extract_children(body, children, out)


def _extract_children(body: Any, children: dict[str, OutputTree], out: dict[str, Any]) -> None:
    if isinstance(body, dict):
        for part, (names, sub) in children.items():
            if part in body:
                value = body[part]
                for name in names:
                    out[name] = value
                if sub:
                    _extract_children(value, sub, out)
    elif isinstance(body, list):
        for part, (names, sub) in children.items():
            if part.lstrip("-").isdigit() and -len(body) <= int(part) < len(body):
                value = body[int(part)]
                for name in names:
                    out[name] = value
                if sub:
                    _extract_children(value, sub, out)


#: The key under which a step's outputs carry :attr:`TaskResult.secret_outputs` to later steps
#: (not an output name: those are identifiers).
SEALED = "@secrets"


def chained(result: TaskResult) -> dict[str, Any]:
    """A result's outputs as later steps receive them: with the names of the secrets masked
    outputs stand for (names only: nothing secret crosses an engine's history)."""
    if not result.secret_outputs:
        return result.outputs
    return {**result.outputs, SEALED: dict(result.secret_outputs)}


def unsealed(outputs: Mapping[str, Any], secrets: Mapping[str, str]) -> Mapping[str, Any]:
    """``outputs`` as a template reads them: each masked output that stands for a secret this
    step has (``secrets``: name -> value) is that value again; the others stay masked."""
    sealed = outputs.get(SEALED)
    if sealed is None:
        return outputs
    out = {k: v for k, v in outputs.items() if k != SEALED}
    if isinstance(sealed, Mapping):
        for name, secret in sealed.items():
            if name in out and isinstance(secret, str) and secret in secrets:
                out[name] = secrets[secret]
    return out


def visible(outputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """``outputs`` without the secrets' names (for a context that shows, not sends)."""
    if SEALED not in outputs:
        return outputs
    return {k: v for k, v in outputs.items() if k != SEALED}
