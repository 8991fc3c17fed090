"""rtk-task: a first-class HTTP task for workflow engines, built from API reference docs.

The public API::

    import rtk_task

    with rtk_task.Client(base_url="http://127.0.0.1:8787/client/v4") as client:
        result = client.call("realtimekit.meetings.create", {"account_id": "acc", "title": "Sync"})
        result.outputs["meeting_id"]

Names are imported on first use so that ``rtk-task`` starts fast.
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

__version__ = "0.1.0"

if _TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .errors import (
        ConfigError,
        DocsError,
        EngineError,
        ErrorKind,
        FileError,
        InputError,
        ManifestError,
        OpenAPIError,
        Problem,
        RemoteError,
        RtkError,
        TemplateError,
        WorkflowError,
    )
    from .manifests.model import Manifest
    from .manifests.registry import load_task
    from .policy import RetryPolicy
    from .result import ErrorInfo, RequestInfo, TaskResult
    from .workflows.model import Workflow, load_workflow, parse_workflow
    from .workflows.runner import RunResult, run_workflow, run_workflow_async

_EXPORTS = {
    "AsyncClient": "client",
    "Client": "client",
    "ConfigError": "errors",
    "DocsError": "errors",
    "EngineError": "errors",
    "ErrorKind": "errors",
    "FileError": "errors",
    "InputError": "errors",
    "ManifestError": "errors",
    "OpenAPIError": "errors",
    "Problem": "errors",
    "RemoteError": "errors",
    "RtkError": "errors",
    "TemplateError": "errors",
    "WorkflowError": "errors",
    "Manifest": "manifests.model",
    "load_task": "manifests.registry",
    "RetryPolicy": "policy",
    "ErrorInfo": "result",
    "RequestInfo": "result",
    "TaskResult": "result",
    "Workflow": "workflows.model",
    "load_workflow": "workflows.model",
    "parse_workflow": "workflows.model",
    "RunResult": "workflows.runner",
    "run_workflow": "workflows.runner",
    "run_workflow_async": "workflows.runner",
}
__all__ = [
    "AsyncClient",
    "Client",
    "ConfigError",
    "DocsError",
    "EngineError",
    "ErrorInfo",
    "ErrorKind",
    "FileError",
    "InputError",
    "Manifest",
    "ManifestError",
    "OpenAPIError",
    "Problem",
    "RemoteError",
    "RequestInfo",
    "RetryPolicy",
    "RtkError",
    "RunResult",
    "TaskResult",
    "TemplateError",
    "Workflow",
    "WorkflowError",
    "load_task",
    "load_workflow",
    "parse_workflow",
    "run_workflow",
    "run_workflow_async",
]


def __getattr__(name: str) -> _Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rtk_task' has no attribute {name!r}")
    value = getattr(_import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and the version (no helpers, no submodules)."""
    return sorted({*__all__, "__version__"})
