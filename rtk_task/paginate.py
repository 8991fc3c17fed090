"""Gathering every page of a list task into one result (``paginate=True``), written once.

A task pages when its manifest says how (:class:`~rtk_task.providers.model.Paging`, put
there by its provider or its source): a page number (RealtimeKit's ``page_no``/``per_page``),
an offset and a limit, a cursor (from a body field or a response header), or the
``Link: <...>; rel="next"`` header. Pages are fetched in order until the items reach the total,
a page comes back short or empty, no next cursor or link is given, or ``max_pages`` is
reached. A ``Link`` URL is followed only on the same scheme, host and path as the first
request (its query may change), so a server cannot send the credential elsewhere. What is
held is bounded too: past ``max_items`` items, or past ``max_bytes`` of items (measured as
compact JSON, the size they take once gathered), the flow stops with an error of kind
``response`` instead of holding more. The result is the last page's, with ``items`` holding
every item, ``pages`` the number of pages fetched, and ``attempts`` and ``elapsed_ms`` summed
over the pages; a page that fails ends the flow with its result.

:func:`page_flow` is a sans-I/O flow like :func:`rtk_task.retry.retry_flow` (each page is one
retry flow), so both clients page through the same code. Finding the paging scheme needs no
HTTP client: a dry run can ask whether a step pages without loading one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .manifests.model import Manifest
from .providers.model import Paging
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


def paging_of(manifest: Manifest) -> Paging | None:
    """The paging scheme of a manifest, or ``None`` if it does not page."""
    paging = manifest.paging
    if paging is None or paging.items not in {o.name for o in manifest.outputs}:
        return None
    return paging


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
    values = dict(inputs)
    if paging.style in ("page", "offset"):
        first = paging.start if paging.start is not None else int(paging.style == "page")
        values.setdefault(paging.param, first)
    #: the cursors followed so far: a server that hands one out again ends the paging
    seen: set[str] = set()
    size = inputs.get(paging.size_param) if paging.size_param else None
    items: list[Any] = []
    attempts, elapsed, pages = 0, 0.0, 0
    prepared = build(values)
    while True:
        if isinstance(prepared, TaskResult):
            return prepared  # a page that cannot be built: nothing of it was sent
        result = yield from retry_flow(prepared, policy)
        pages += 1
        attempts += result.attempts
        elapsed += result.elapsed_ms
        if not result.ok:
            return result.model_copy(update={"attempts": attempts, "elapsed_ms": round(elapsed, 3)})
        found = result.outputs.get(paging.items)
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
        total = result.outputs.get(paging.total) if paging.total else None
        short = isinstance(size, int | float) and len(batch) < size
        done = not batch or short or (isinstance(total, int | float) and len(items) >= total)
        following = (
            None if done or pages >= limit else _next(paging, values, result, prepared, seen)
        )
        if following is None:
            outputs = {**result.outputs, paging.items: items, "pages": pages}
            return result.model_copy(
                update={
                    "outputs": outputs,
                    "attempts": attempts,
                    "elapsed_ms": round(elapsed, 3),
                    "body": None,
                }
            )
        if isinstance(following, str):
            prepared = _follow(prepared, following)
        else:
            values = following
            prepared = build(values)


def _next(
    paging: Paging, values: dict[str, Any], result: TaskResult, call: Call, seen: set[str]
) -> dict[str, Any] | str | None:
    """The inputs of the next page, the URL of the next page (``Link``), or ``None``."""
    if paging.style == "page":
        return {**values, paging.param: int(values[paging.param]) + 1}
    if paging.style == "offset":
        found = result.outputs.get(paging.items)
        count = len(found) if isinstance(found, list) else 0
        return {**values, paging.param: int(values[paging.param]) + count}
    if paging.style == "cursor":
        cursor: Any = (
            (result.headers or {}).get(paging.next[7:].lower())
            if paging.next.startswith("header:")
            else result.outputs.get(paging.next)
        )
        key = json.dumps(cursor, sort_keys=True, default=str)
        if cursor in (None, "") or key in seen:
            return None  # no cursor, or one followed before: the end (never a loop)
        seen.add(key)
        return {**values, paging.param: cursor}
    link = (result.headers or {}).get("link", "")
    url = _rel_next(link)
    if url is None or url in seen or not _same_place(url, call.request.url):
        return None
    seen.add(url)
    return url


def _rel_next(link: str) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (RFC 8288), if it has one."""
    for part in link.split(","):
        target, _, params = part.partition(";")
        target = target.strip()
        rels = [
            p.split("=", 1)[1].strip().strip('"')
            for p in params.split(";")
            if "=" in p and p.split("=", 1)[0].strip().lower() == "rel"
        ]
        if (
            target.startswith("<")
            and target.endswith(">")
            and any("next" in r.split() for r in rels)
        ):
            return target[1:-1]
    return None


def _same_place(url: str, first: str) -> bool:
    """Whether ``url`` has the scheme, host, port and path of ``first``."""
    a, b = urlsplit(url), urlsplit(first)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


def _follow(call: Call, url: str) -> Call:
    """``call`` sent to ``url`` instead (the next page of a ``Link`` header)."""
    return replace(call, request=replace(call.request, url=url))


def _size(batch: list[Any]) -> int:
    """The bytes ``batch`` takes as compact JSON (what a page's items cost to hold)."""
    try:
        return len(json.dumps(batch, separators=(",", ":"), ensure_ascii=False))
    except (TypeError, ValueError):  # not JSON (cannot come from a parsed body): count items
        return len(batch)
