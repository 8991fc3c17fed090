"""Cloudflare and RealtimeKit: the envelopes, names and paths the generic code must not know.

- Errors: Cloudflare's ``errors: [{code, message}]`` and RealtimeKit's ``error: {code,
  message}`` (or a bare string) envelopes.
- Paging: RealtimeKit lists take ``page_no``/``per_page`` and answer ``data`` with
  ``paging.total_count``; the other common spellings are accepted too.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PAGE_PARAMS", "SIZE_PARAMS", "api_errors"]

#: Query parameters that name a page number, first match wins.
PAGE_PARAMS = ("page_no", "page", "page_number")
#: Query parameters that name a page size, first match wins.
SIZE_PARAMS = ("per_page", "page_size", "limit")


def api_errors(body: Any) -> list[dict[str, Any]]:
    """The error objects of a failure body, in either envelope (empty when it has none)."""
    found: list[dict[str, Any]] = []
    if isinstance(body, dict):
        if isinstance(body.get("errors"), list):
            found = [e for e in body["errors"] if isinstance(e, dict)]
        if isinstance(body.get("error"), dict):
            found.append(body["error"])
        elif isinstance(body.get("error"), str):
            found.append({"message": body["error"]})
    return found
