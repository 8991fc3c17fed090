"""The provider interface, and the plain behaviour every provider starts from.

A :class:`Provider` answers the questions the generic pipeline must not answer itself: the
other forms of a path, the task id of an operation, whether an operation may be resent, the
success envelope outputs are read from, how a list pages (:meth:`Provider.paging_style`), and
the shape of a list whose schema is wrong. This
base class answers them for an API it knows nothing about, so any OpenAPI document still
builds (and sets no rate limit); a vendor module subclasses it and changes only what its API
does differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import PLACEHOLDER, Auth, LimitRule, Paging, PagingStyle, RateLimit

__all__ = ["PLACEHOLDER", "Envelope", "ListShape", "PagingStyle", "Provider", "literal_words"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_VERBS = {"GET": "list", "POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}


@dataclass(frozen=True)
class Envelope:
    """Where a success body keeps its payload and its page counts.

    ``data`` is the key of the payload (``None``: the body itself is the payload); ``paging``
    the key of the page counts, beside the payload or inside it; ``total`` the count of every
    item across pages; ``cursor`` the cursor of the next page, among the page counts.
    """

    data: str | None = None
    paging: str | None = None
    total: str = "total_count"
    cursor: str = "next_cursor"


@dataclass(frozen=True)
class ListShape:
    """Where a list's items and page counts are, as dotted paths into the success body."""

    items: str
    paging: str | None = None


def literal_words(path: str) -> list[str]:
    """The literal segments of a path, lower case, with ``-`` and other marks as ``_``."""
    return [
        re.sub(r"[^a-z0-9_]", "_", part.lower())
        for part in path.strip("/").split("/")
        if part and not PLACEHOLDER.fullmatch(part)
    ]


class Provider:
    """Vendor facts, answered plainly: one path form, ids from the path, no envelope."""

    #: A short name, for messages and the manifest's ``provider``.
    name = "generic"
    #: How its requests are authenticated, and the hosts the credential may go to. The plain
    #: provider knows no credential: a manifest built for it sends none unless its source
    #: (an OpenAPI document's security schemes) says which.
    auth = Auth()
    #: The key of its limits: an input (path parameter) saying whose limit it is.
    limit_key = ""
    #: The success envelope outputs are derived from.
    envelope = Envelope()
    #: Output names that end in ``_id`` but echo what the caller sent (shown after real ids).
    echoed_ids: frozenset[str] = frozenset()
    #: Query parameters that name a page number, and a page size.
    page_params: tuple[str, ...] = ("page", "page_number")
    size_params: tuple[str, ...] = ("page_size", "per_page", "limit")
    #: Query parameters that name where a page starts: an item offset, or a cursor.
    offset_params: tuple[str, ...] = ("offset",)
    cursor_params: tuple[str, ...] = ("cursor", "page_token")

    #: The documented account-wide limit (``None``: the API documents none).
    account_limit: RateLimit | None = None

    def rate_limits(self, task_id: str) -> tuple[tuple[str, RateLimit], ...]:
        """The documented limits a call of ``task_id`` counts against, as ``(scope, limit)``:
        the account-wide one (scope ``"account"``) first, then narrower ones."""
        return (("account", self.account_limit),) if self.account_limit else ()

    def limit_rules(self, task_id: str, inputs: set[str]) -> tuple[LimitRule, ...]:
        """:meth:`rate_limits` as the manifest keeps them, keyed by :attr:`limit_key` when the
        operation has that input."""
        key = self.limit_key if self.limit_key in inputs else ""
        return tuple(
            LimitRule(scope=scope, limit=limit, key=key)
            for scope, limit in self.rate_limits(task_id)
        )

    def paging(self, query: set[str], outputs: set[str]) -> Paging | None:
        """How an operation with these query parameters and outputs pages, if it does.

        It needs an ``items`` output; a page number or an offset with a size, or a cursor
        parameter with a ``next_cursor`` output."""
        style = self.paging_style(query)
        if style is None or "items" not in outputs:
            return None
        size = next((n for n in self.size_params if n in query), "")
        total = self.envelope.total if self.envelope.total in outputs else ""
        if style == "page":
            page = next(n for n in self.page_params if n in query)
            return Paging(style="page", param=page, size_param=size, total=total)
        if style == "offset":
            offset = next(n for n in self.offset_params if n in query)
            return Paging(style="offset", param=offset, size_param=size, total=total)
        cursor = next(n for n in self.cursor_params if n in query)
        if "next_cursor" not in outputs:
            return None
        return Paging(style="cursor", param=cursor, size_param=size, next="next_cursor")

    def owns(self, path: str) -> bool:
        """Whether this provider describes ``path`` (the plain provider takes any)."""
        return True

    def canonical_path(self, path: str) -> str:
        """The preferred form of a path (another form of the same operation maps to it)."""
        return path

    def path_forms(self, path: str) -> tuple[str, ...]:
        """Every form the operation at ``path`` answers on, ``path`` itself first."""
        return (path,)

    def task_id(self, method: str, path: str) -> str:
        """``<literal segments>.<verb>``: GET on a collection ``list``, on an item ``get``,
        POST ``create`` (``action`` on an item), PUT ``replace``, PATCH ``update``, DELETE
        ``delete``."""
        words = literal_words(path)
        return ".".join([*(words or ["root"]), self._verb(method, path)])

    def _verb(self, method: str, path: str) -> str:
        ends_in_item = bool(PLACEHOLDER.fullmatch(path.rstrip("/").rsplit("/", 1)[-1]))
        if method == "GET" and ends_in_item:
            return "get"
        if method == "POST" and ends_in_item:
            return "action"
        return _VERBS.get(method, method.lower())

    def idempotent(self, method: str, task_id: str) -> bool:
        """Whether a repeat leaves the same state: GET, HEAD, OPTIONS, PUT and DELETE."""
        return method in _SAFE_METHODS

    def resource(self, task_id: str) -> str:
        """What a task acts on, for grouping: the first word of its id."""
        return task_id.split(".", 1)[0]

    def record_noun(self, task_id: str) -> str:
        """The record a task returns, for its ``<noun>_id`` output: the word before the verb,
        singular."""
        last = task_id.rsplit(".", 2)[-2] if "." in task_id else "item"
        return last.removesuffix("s") or "item"

    def pages(self, query: set[str]) -> bool:
        """Whether an operation with these query parameters pages (a page and a size)."""
        return bool(query & set(self.page_params)) and bool(query & set(self.size_params))

    def paging_style(self, query: set[str]) -> PagingStyle | None:
        """How an operation with these query parameters pages, if it does: a page number and
        a size, an offset and a size, or a cursor."""
        if self.pages(query):
            return "page"
        if query & set(self.offset_params) and query & set(self.size_params):
            return "offset"
        if query & set(self.cursor_params):
            return "cursor"
        return None

    def list_shape(self, method: str, path: str) -> ListShape | None:
        """Where a list keeps its items when its schema says it wrongly (``None``: as stated)."""
        return None
