"""Gathering every page of a list task into one output list (``paginate: true``).

A task pages when it has page-number and page-size query parameters and declares ``items``
and ``total_count`` outputs (RealtimeKit's ``page_no``/``per_page`` with ``data`` and
``paging.total_count``). Pages are fetched in order until the items reach the total, a page
comes back short or empty, or ``max_pages`` is reached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import Problem, WorkflowError
from .manifests.model import Manifest
from .providers.cloudflare import PAGE_PARAMS, SIZE_PARAMS
from .result import TaskResult

__all__ = ["Paging", "gather_pages", "paging_of"]

#: A ceiling for runaway paging when the step sets no max_pages.
DEFAULT_MAX_PAGES = 1000


@dataclass(frozen=True, slots=True)
class Paging:
    """How a task pages."""

    page_param: str
    size_param: str


def paging_of(manifest: Manifest) -> Paging | None:
    """The paging scheme of a manifest, or ``None`` if it does not page."""
    query = {p.name for p in manifest.parameters.query}
    outputs = {o.name for o in manifest.outputs}
    page = next((n for n in PAGE_PARAMS if n in query), None)
    size = next((n for n in SIZE_PARAMS if n in query), None)
    if page and size and {"items", "total_count"} <= outputs:
        return Paging(page, size)
    return None


async def gather_pages(
    manifest: Manifest,
    inputs: dict[str, Any],
    call: Callable[[dict[str, Any]], Awaitable[TaskResult]],
    *,
    max_pages: int | None,
    where: str,
) -> TaskResult:
    """Call page after page; one result whose ``items`` output holds every item."""
    paging = paging_of(manifest)
    if paging is None:
        raise WorkflowError(
            Problem(
                where,
                f"{manifest.id} does not page",
                "paginate needs a list task with page and page-size parameters",
            )
        )
    limit = max_pages or DEFAULT_MAX_PAGES
    page = int(inputs.get(paging.page_param, 1))
    items: list[Any] = []
    attempts, elapsed, pages = 0, 0.0, 0
    while True:
        result = await call({**inputs, paging.page_param: page})
        pages += 1
        attempts += result.attempts
        elapsed += result.elapsed_ms
        if not result.ok:
            return result.model_copy(update={"attempts": attempts, "elapsed_ms": elapsed})
        found = result.outputs.get("items")
        batch: list[Any] = found if isinstance(found, list) else []
        items.extend(batch)
        total = result.outputs.get("total_count")
        size = inputs.get(paging.size_param)
        short = isinstance(size, int | float) and len(batch) < size
        done = not batch or short or (isinstance(total, int | float) and len(items) >= total)
        if done or pages >= limit:
            outputs = {**result.outputs, "items": items, "pages": pages}
            return result.model_copy(
                update={
                    "outputs": outputs,
                    "attempts": attempts,
                    "elapsed_ms": round(elapsed, 3),
                    "body": None,
                }
            )
        page += 1
