"""Every paging style, proved against a real server on 127.0.0.1 that pages a list and keeps
every request it gets: each test checks the items gathered and how many requests were sent.

Offset/limit stops on a short page; a cursor (a body field or a header) stops when none is
given and never loops on one the server repeats; a ``Link: <...>; rel="next"`` is followed
only on the same host and path; page numbers stop when the items reach the ``total``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rtk_task import AsyncClient, Client, TaskResult
from rtk_task.manifests.model import Manifest, Output, Paging, Param, Parameters, ParamType

from ..recorder import Recorder, Reply, Seen, reply
from .conftest import Serve


def not_found(_: Seen) -> Reply:
    return 404, {"Content-Type": "application/json"}, b'{"error": "not here"}'


# -- the list task --------------------------------------------------------------------------

I, S = ParamType.INTEGER, ParamType.STRING
ITEMS = [{"id": n} for n in range(7)]


def list_task(server: str, paging: Paging, *query: Param, **outputs: str) -> Manifest:
    """``GET /items`` on ``server``, its page's items at ``data``."""
    return Manifest(
        id="test.items.list",
        method="GET",
        path="/items",
        servers=(server,),
        idempotent=True,
        parameters=Parameters(query=query),
        outputs=(
            Output(name="items", path="data"),
            *(Output(name=k, path=v) for k, v in outputs.items()),
        ),
        paging=paging,
    )


def gather(manifest: Manifest, inputs: dict[str, Any], max_pages: int | None = None) -> TaskResult:
    with Client() as client:
        return client.call(manifest, inputs, paginate=True, max_pages=max_pages)


def assert_gathered(result: TaskResult, items: list[Any], server: Recorder, requests: int) -> None:
    assert result.ok, result.error
    assert result.outputs["items"] == items, f"gathered {result.outputs['items']}"
    assert len(server.seen) == requests, (
        f"the server got {len(server.seen)} requests, not {requests}: "
        f"{[(s.path, s.query) for s in server.seen]}"
    )
    assert result.outputs["pages"] == requests


# -- offset / limit -------------------------------------------------------------------------

OFFSET = Paging(style="offset", param="offset", size_param="limit")
OFFSET_PARAMS = (Param(name="offset", type=I), Param(name="limit", type=I))


def offsets(seen: Seen) -> Reply:
    start, size = int(seen.params.get("offset", "0")), int(seen.params["limit"])
    return reply({"data": ITEMS[start : start + size]})


def test_offset_paging_starts_at_zero_and_stops_on_a_short_page(serve: Serve) -> None:
    server = serve(offsets)
    result = gather(list_task(server.url, OFFSET, *OFFSET_PARAMS), {"limit": 3})
    assert_gathered(result, ITEMS, server, 3)
    assert [s.params for s in server.seen] == [
        {"offset": "0", "limit": "3"},
        {"offset": "3", "limit": "3"},
        {"offset": "6", "limit": "3"},
    ]


def test_offset_paging_stops_on_an_empty_page_when_the_last_one_was_full(serve: Serve) -> None:
    server = serve(offsets)
    paging = Paging(style="offset", param="offset", size_param="limit", start=0)
    result = gather(list_task(server.url, paging, *OFFSET_PARAMS), {"limit": 7})
    assert_gathered(result, ITEMS, server, 2)
    assert [s.params["offset"] for s in server.seen] == ["0", "7"]


# -- cursors --------------------------------------------------------------------------------

CURSOR_PARAMS = (Param(name="cursor", type=S),)
#: The pages of a cursor-paged list: (items, the next cursor) by the cursor asked for.
CHAIN: dict[str | None, tuple[list[Any], str | None]] = {
    None: (ITEMS[0:3], "c2"),
    "c2": (ITEMS[3:6], "c3"),
    "c3": (ITEMS[6:], None),
}


def cursor_in_body(
    pages: Callable[[str | None], tuple[list[Any], str | None]],
) -> Callable[[Seen], Reply]:
    def respond(seen: Seen) -> Reply:
        items, following = pages(seen.params.get("cursor"))
        meta = {"next_cursor": following} if following is not None else {}
        return reply({"data": items, "meta": meta})

    return respond


BODY_CURSOR = Paging(style="cursor", param="cursor", next="next")


def cursor_task(server: str) -> Manifest:
    return list_task(server, BODY_CURSOR, *CURSOR_PARAMS, next="meta.next_cursor")


def test_cursor_paging_follows_the_body_cursor_until_none_is_given(serve: Serve) -> None:
    server = serve(cursor_in_body(CHAIN.__getitem__))
    result = gather(cursor_task(server.url), {})
    assert_gathered(result, ITEMS, server, 3)
    assert [s.params.get("cursor") for s in server.seen] == [None, "c2", "c3"]


def test_cursor_paging_stops_when_the_server_repeats_the_same_cursor(serve: Serve) -> None:
    server = serve(cursor_in_body(lambda cursor: ([{"cursor": cursor}], "same")))
    result = gather(cursor_task(server.url), {}, max_pages=50)
    assert_gathered(result, [{"cursor": None}, {"cursor": "same"}], server, 2)


def test_cursor_paging_never_loops_on_a_cursor_it_has_already_followed(serve: Serve) -> None:
    cycle = {None: "A", "A": "B", "B": "A"}  # A -> B -> A -> B ... forever
    server = serve(cursor_in_body(lambda cursor: ([{"cursor": cursor}], cycle[cursor])))
    result = gather(cursor_task(server.url), {}, max_pages=50)
    assert_gathered(result, [{"cursor": None}, {"cursor": "A"}, {"cursor": "B"}], server, 3)


def test_cursor_paging_reads_the_cursor_from_a_response_header(serve: Serve) -> None:
    def respond(seen: Seen) -> Reply:
        items, following = CHAIN[seen.params.get("cursor")]
        return reply({"data": items}, headers={"X-Next-Cursor": following} if following else {})

    server = serve(respond)
    paging = Paging(style="cursor", param="cursor", next="header:X-Next-Cursor")
    result = gather(list_task(server.url, paging, *CURSOR_PARAMS), {})
    assert_gathered(result, ITEMS, server, 3)
    assert [s.params.get("cursor") for s in server.seen] == [None, "c2", "c3"]


def test_async_cursor_paging_gathers_the_same_pages(serve: Serve) -> None:
    server = serve(cursor_in_body(CHAIN.__getitem__))

    async def run() -> TaskResult:
        async with AsyncClient() as client:
            return await client.call(cursor_task(server.url), {}, paginate=True)

    assert_gathered(asyncio.run(run()), ITEMS, server, 3)
    assert [s.params.get("cursor") for s in server.seen] == [None, "c2", "c3"]


# -- Link: <...>; rel="next" ----------------------------------------------------------------

LINK = Paging(style="link")
PAGE_PARAMS = (Param(name="page", type=I),)


def linked(next_url: Callable[[int], str | None]) -> Callable[[Seen], Reply]:
    """Pages 1..3 of ``ITEMS`` (3 a page); page n links to ``next_url(n)``."""

    def respond(seen: Seen) -> Reply:
        if seen.path != "/items":
            return not_found(seen)
        page = int(seen.params.get("page", "1"))
        url = next_url(page)
        links = {"Link": f'<{url}?page=1>; rel="first", <{url}>; rel="next"'} if url else {}
        return reply({"data": ITEMS[(page - 1) * 3 : page * 3]}, headers=links)

    return respond


def test_link_paging_follows_rel_next_on_the_same_host_and_path(serve: Serve) -> None:
    server = serve(not_found)
    server.respond = linked(lambda n: f"{server.url}/items?page={n + 1}" if n < 3 else None)
    result = gather(list_task(server.url, LINK, *PAGE_PARAMS), {})
    assert_gathered(result, ITEMS, server, 3)
    assert [s.query for s in server.seen] == ["", "page=2", "page=3"]


def test_link_paging_never_follows_a_link_to_another_host(serve: Serve) -> None:
    elsewhere = serve(linked(lambda n: None))  # another loopback server: another host:port
    server = serve(linked(lambda n: f"{elsewhere.url}/items?page={n + 1}"))
    result = gather(list_task(server.url, LINK, *PAGE_PARAMS), {})
    assert_gathered(result, ITEMS[:3], server, 1)
    assert elsewhere.seen == [], "paging followed a Link to another host"


def test_link_paging_never_follows_a_link_to_another_path(serve: Serve) -> None:
    server = serve(not_found)
    server.respond = linked(lambda n: f"{server.url}/admin/items?page={n + 1}")
    result = gather(list_task(server.url, LINK, *PAGE_PARAMS), {})
    assert_gathered(result, ITEMS[:3], server, 1)
    assert [s.path for s in server.seen] == ["/items"]


# -- page numbers with a total --------------------------------------------------------------

PAGES = Paging(style="page", param="page", size_param="per_page", total="total")


def numbered(items: list[Any], size: int) -> Callable[[Seen], Reply]:
    def respond(seen: Seen) -> Reply:
        page = int(seen.params["page"])
        return reply(
            {"data": items[(page - 1) * size : page * size], "meta": {"total": len(items)}}
        )

    return respond


def page_task(server: str) -> Manifest:
    params = (Param(name="page", type=I), Param(name="per_page", type=I))
    return list_task(server, PAGES, *params, total="meta.total")


def test_page_paging_stops_when_the_items_reach_the_total(serve: Serve) -> None:
    server = serve(numbered(ITEMS[:4], 2))
    result = gather(page_task(server.url), {"per_page": 2})
    assert_gathered(result, ITEMS[:4], server, 2)  # no third request for an empty page
    assert [s.params for s in server.seen] == [
        {"page": "1", "per_page": "2"},
        {"page": "2", "per_page": "2"},
    ]


def test_page_paging_without_a_page_size_relies_on_the_total(serve: Serve) -> None:
    server = serve(numbered(ITEMS[:5], 2))
    result = gather(page_task(server.url), {})
    assert_gathered(result, ITEMS[:5], server, 3)
    assert [s.params["page"] for s in server.seen] == ["1", "2", "3"]
