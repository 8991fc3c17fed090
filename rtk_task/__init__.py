"""rtk-task: a first-class HTTP task for workflow engines, built from API reference docs.

The public API::

    import rtk_task

    with rtk_task.Client(base_url="http://127.0.0.1:8787/client/v4") as client:
        result = client.call("realtimekit.meetings.create", {"account_id": "acc", "title": "Sync"})
        result.outputs["meeting_id"]

Names are imported on first use so that ``rtk-task`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .errors import (
        DocsError,
        InputError,
        ManifestError,
        OpenAPIError,
        Problem,
        RemoteError,
        RtkError,
        TemplateError,
        WorkflowError,
    )
    from .manifest import Manifest
    from .registry import load_task
    from .result import TaskResult
    from .workflow import Workflow, load_workflow

_EXPORTS = {
    "AsyncClient": "client",
    "Client": "client",
    "DocsError": "errors",
    "InputError": "errors",
    "ManifestError": "errors",
    "OpenAPIError": "errors",
    "Problem": "errors",
    "RemoteError": "errors",
    "RtkError": "errors",
    "TemplateError": "errors",
    "WorkflowError": "errors",
    "Manifest": "manifest",
    "load_task": "registry",
    "TaskResult": "result",
    "Workflow": "workflow",
    "load_workflow": "workflow",
}
__all__ = [
    "AsyncClient",
    "Client",
    "DocsError",
    "InputError",
    "Manifest",
    "ManifestError",
    "OpenAPIError",
    "Problem",
    "RemoteError",
    "RtkError",
    "TaskResult",
    "TemplateError",
    "Workflow",
    "WorkflowError",
    "load_task",
    "load_workflow",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rtk_task' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return [*globals(), *__all__]
