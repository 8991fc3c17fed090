"""The project's exception family, and the one vocabulary of error kinds.

::

    RtkError                 root of every error raised on purpose (exit code 2 unless said)
    ├── DocsError            a docs page that cannot be read              kind "docs"
    ├── OpenAPIError         an OpenAPI document or operation unusable    kind "openapi"
    ├── ManifestError        a manifest that cannot be built/found/loaded kind "manifest"
    ├── WorkflowError        a workflow file that cannot be loaded or run kind "workflow"
    ├── TemplateError        a template that cannot be rendered           kind "template"
    ├── InputError           inputs that do not match the manifest        kind "validation"
    ├── ConfigError          no token, no base URL, a bad argument         kind "config"
    ├── FileError            a file that cannot be read or written         kind "file"
    ├── EngineError          an engine (Temporal, Prefect) failed          kind "engine", exit 1
    └── RemoteError          sent (or maybe sent), and the call failed     exit 1; its kind is
                             one of "http", "connect", "timeout", "ambiguous", "response",
                             "remote"

Every error carries *problems*: each says where (``FILE:LINE`` or a dotted field path), what,
and a hint. Foreign exceptions (jinja2, httpx, pydantic, YAML) are mapped into these at the
boundary of the stage that met them, so callers never import a third-party library to catch
ours. A :class:`~rtk_task.result.TaskResult`'s ``error.kind`` is one of :data:`ErrorKind`, and
``raise_for_error()`` raises the class :func:`error_class` names for it.

Exit codes mean the same everywhere: 2 for bad input (nothing was sent), 1 for a remote call
that failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "NOT_SENT",
    "ConfigError",
    "DocsError",
    "EngineError",
    "ErrorKind",
    "FileError",
    "InputError",
    "ManifestError",
    "OpenAPIError",
    "Problem",
    "RemoteError",
    "RtkError",
    "TemplateError",
    "WorkflowError",
    "did_you_mean",
    "error_class",
]

EXIT_BAD_INPUT = 2
EXIT_REMOTE_FAILED = 1

#: Every kind an error can have, in results and on exceptions alike.
ErrorKind = Literal[
    # found before sending: nothing reached the server
    "docs",
    "openapi",
    "manifest",
    "workflow",
    "template",
    "validation",
    "config",
    "file",
    # an engine failed around the call
    "engine",
    # sent, or maybe sent
    "http",  # the server answered with a failure status
    "connect",  # no connection was made: the server did not get the request
    "timeout",  # the server took too long (an idempotent call)
    "ambiguous",  # sent, no usable answer; the operation may or may not have happened
    "response",  # the answer cannot be read (malformed, truncated, too large)
    "remote",  # other transport failures
    "expectation",  # the server answered, and the answer is not what the step's expect says
]
#: Kinds where nothing reached the server.
NOT_SENT: frozenset[str] = frozenset(
    {"docs", "openapi", "manifest", "workflow", "template", "validation", "config", "file"}
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: ``where`` (``FILE:LINE`` or a field path), ``message``, ``hint``."""

    where: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class RtkError(Exception):
    """Root of every error rtk-task raises on purpose.

    A bug shows as any other exception; everything a user can cause is one of these. Raise a
    subclass: the root only catches.
    """

    exit_code: int = EXIT_BAD_INPUT
    #: The stage's word, one of :data:`ErrorKind`; ``error.kind`` in results.
    kind: ErrorKind = "config"

    def __init__(self, problems: Problem | Sequence[Problem] | str, *, hint: str = "") -> None:
        if isinstance(problems, str):
            problems = Problem("", problems, hint)
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        super().__init__(self.render())

    @classmethod
    def collect(cls, problems: Iterable[Problem]) -> None:
        """Raise one error holding every problem, if there is any."""
        found = list(problems)
        if found:
            raise cls(found)

    @property
    def first(self) -> Problem:
        """The first problem (there is always one)."""
        return self.problems[0] if self.problems else Problem("", "unknown error")

    def render(self) -> str:
        """All problems, one block each, as the CLI prints them."""
        return "\n".join(str(p) for p in self.problems)


class DocsError(RtkError):
    """A docs page that cannot be read as an endpoint description."""

    kind = "docs"


class OpenAPIError(RtkError):
    """An OpenAPI document, or an operation in it, that cannot be used."""

    kind = "openapi"


class ManifestError(RtkError):
    """A manifest that cannot be built, found or loaded."""

    kind = "manifest"


class WorkflowError(RtkError):
    """A workflow file that cannot be loaded or run as written."""

    kind = "workflow"


class TemplateError(RtkError):
    """A template that cannot be rendered (undefined name, sandbox violation, syntax)."""

    kind = "template"


class InputError(RtkError):
    """Step inputs that do not match the manifest; nothing was sent."""

    kind = "validation"


class ConfigError(RtkError):
    """Settings or arguments that cannot work: no token, no base URL, a malformed flag."""

    kind = "config"


class FileError(RtkError):
    """A file that cannot be read or written."""

    kind = "file"


class EngineError(RtkError):
    """A workflow engine (Temporal, Prefect) or the emulator failed around the calls."""

    kind = "engine"
    exit_code = EXIT_REMOTE_FAILED


class RemoteError(RtkError):
    """The request was sent (or may have been) and the remote call failed.

    ``kind`` says how: ``http``, ``connect``, ``timeout``, ``ambiguous``, ``response`` or
    ``remote``; ``status_code`` is the answer's status, when there was one.
    """

    kind: ErrorKind = "remote"
    exit_code = EXIT_REMOTE_FAILED

    def __init__(
        self,
        problems: Problem | Sequence[Problem] | str,
        *,
        hint: str = "",
        kind: ErrorKind = "remote",
        status_code: int | None = None,
    ) -> None:
        super().__init__(problems, hint=hint)
        self.kind = kind
        self.status_code = status_code


_BY_KIND: dict[str, type[RtkError]] = {
    cls.kind: cls
    for cls in (
        DocsError,
        OpenAPIError,
        ManifestError,
        WorkflowError,
        TemplateError,
        InputError,
        ConfigError,
        FileError,
        EngineError,
    )
}


def error_class(kind: str) -> type[RtkError]:
    """The exception class of an error kind (:class:`RemoteError` for the remote ones)."""
    return _BY_KIND.get(kind, RemoteError)


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ``did you mean 'x'?`` hint, or an empty string when nothing is close."""
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
