"""The project's exception family.

One root, :class:`RtkError`, and one subclass per pipeline stage. Every error carries
*problems*: each says where (``FILE:LINE`` or a dotted field path), what, and a hint. Foreign
exceptions (jinja2, httpx, pydantic, YAML) are mapped into these at the boundary of the stage
that met them, so callers never import a third-party library to catch ours.

Exit codes mean the same everywhere: 2 for bad input (nothing was sent), 1 for a remote call
that failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "DocsError",
    "InputError",
    "ManifestError",
    "OpenAPIError",
    "Problem",
    "RemoteError",
    "RtkError",
    "TemplateError",
    "WorkflowError",
    "did_you_mean",
]

EXIT_BAD_INPUT = 2
EXIT_REMOTE_FAILED = 1


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

    A bug shows as any other exception; everything a user can cause is one of these.
    """

    exit_code: int = EXIT_BAD_INPUT
    #: A short word for the stage, used as ``error.kind`` in results.
    kind: str = "error"

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


class InputError(RtkError):
    """Step inputs that do not match the manifest; nothing was sent."""

    kind = "validation"


class TemplateError(RtkError):
    """A template that cannot be rendered (undefined name, sandbox violation, syntax)."""

    kind = "template"


class WorkflowError(RtkError):
    """A workflow file that cannot be loaded or run as written."""

    kind = "workflow"


class RemoteError(RtkError):
    """The request was sent (or may have been) and the remote call failed."""

    kind = "remote"
    exit_code = EXIT_REMOTE_FAILED


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ``did you mean 'x'?`` hint, or an empty string when nothing is close."""
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
