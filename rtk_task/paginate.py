"""Gathering every page of a list task into one result (``paginate=True``), written once.

A task pages when it has page-number and page-size query parameters and declares ``items``
and ``total_count`` outputs (RealtimeKit's ``page_no``/``per_page`` with ``data`` and
``paging.total_count``). Pages are fetched in order until the items reach the total, a page
comes back short or empty, or ``max_pages`` is reached. What is held is bounded too: past
``max_items`` items, or past ``max_bytes`` of items (measured as compact JSON, the size they
take once gathered), the flow stops with an error of kind ``response`` instead of holding
more. The result is the last page's, with
``items`` holding every item, ``pages`` the number of pages fetched, and ``attempts`` and
``elapsed_ms`` summed over the pages; a page that fails ends the flow with its result.

:func:`page_flow` is a sans-I/O flow like :func:`rtk_task.retry.retry_flow` (each page is one
retry flow), so both clients page through the same code. Finding the paging scheme needs no
HTTP client: a dry run can ask whether a step pages without loading one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .manifests.model import Manifest
from .providers.cloudflare import PAGE_PARAMS, SIZE_PARAMS
from .result import ErrorInfo, TaskResult

if TYPE_CHECKING:
    from .execute import Call
    from .policy import RetryPolicy
    from .retry import Flow

__all__ = [
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_TOTAL_BYTES",
    "Paging",
    "page_flow",
    "paging_of",
]

#: A ceiling for runaway paging when the caller sets no max_pages.
DEFAULT_MAX_PAGES = 1000
#: The most items gathered from every page together when the caller sets no max_items.
DEFAULT_MAX_ITEMS = 100_000
#: The most bytes of items (as compact JSON) gathered from every page together (64 MiB).
DEFAULT_MAX_TOTAL_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Paging:
    """How a task pages: the names of its page-number and page-size parameters."""

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


def page_flow(
    paging: Paging,
    inputs: dict[str, Any],
    build: Callable[[dict[str, Any]], Call | TaskResult],
    policy: RetryPolicy,
    *,
    max_pages: int | None,
    max_items: int | None = None,
    max_bytes: int | None = None,
) -> Flow:
    """Fetch page after page, each built by ``build(inputs)`` and sent by a retry flow.

    Past ``max_items`` items or ``max_bytes`` bytes of items (defaults
    :data:`DEFAULT_MAX_ITEMS`, :data:`DEFAULT_MAX_TOTAL_BYTES`) the flow ends with an error of
    kind ``response`` and the items are dropped: a server cannot make the caller hold more.
    """
    from .retry import retry_flow

    limit = max_pages or DEFAULT_MAX_PAGES
    item_cap = max_items or DEFAULT_MAX_ITEMS
    byte_cap = max_bytes or DEFAULT_MAX_TOTAL_BYTES
    held = 0
    page = int(inputs.get(paging.page_param, 1))
    size = inputs.get(paging.size_param)
    items: list[Any] = []
    attempts, elapsed, pages = 0, 0.0, 0
    while True:
        prepared = build({**inputs, paging.page_param: page})
        if isinstance(prepared, TaskResult):
            return prepared  # a page that cannot be built: nothing of it was sent
        result = yield from retry_flow(prepared, policy)
        pages += 1
        attempts += result.attempts
        elapsed += result.elapsed_ms
        if not result.ok:
            return result.model_copy(update={"attempts": attempts, "elapsed_ms": round(elapsed, 3)})
        found = result.outputs.get("items")
        batch: list[Any] = found if isinstance(found, list) else []
        held += _size(batch)
        items.extend(batch)
        if len(items) > item_cap or held > byte_cap:
            what = (
                f"more than {item_cap:,} items"
                if len(items) > item_cap
                else f"more than {byte_cap:,} bytes of items"
            )
            error = ErrorInfo(
                kind="response",
                message=f"paging stopped after {pages} pages: {what}",
                hint="narrow the list (filters, dates), or set max_pages / max_items / max_bytes",
            )
            return result.model_copy(
                update={
                    "ok": False,
                    "error": error,
                    "outputs": {"pages": pages},
                    "attempts": attempts,
                    "elapsed_ms": round(elapsed, 3),
                    "body": None,
                }
            )
        total = result.outputs.get("total_count")
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


def _size(batch: list[Any]) -> int:
    """The bytes ``batch`` takes as compact JSON (what a page's items cost to hold)."""
    try:
        return len(json.dumps(batch, separators=(",", ":"), ensure_ascii=False))
    except (TypeError, ValueError):  # not JSON (cannot come from a parsed body): count items
        return len(batch)
