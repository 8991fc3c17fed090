"""The playground's ASGI app: the page (``static/``) and its JSON API under ``/api/``.

Routes are thin: each parses the JSON body, asks the :class:`~rtk_task.ui.service.Playground`
and answers JSON; ``POST /api/run`` answers a stream of server-sent events, one per step as it
finishes (:mod:`.stream`), once the check passed (else JSON, like every other route).
Our errors become ``400 {"error": {kind, message, problems}}``, an unconfirmed live call
``409``, anything else ``500`` with the exception's type: the page always gets an answer it
can show beside the right field; secret values are masked in all of them. The whole app sits behind
:class:`~rtk_task.ui.security.Guard` (Host, Origin, CSRF). Handlers are plain functions, run in
Starlette's thread pool, so a workflow run may start its own event loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ..errors import RtkError
from ..secrets import Redactor
from .editor import editor_routes
from .security import Guard
from .service import ConfirmNeeded, Playground

__all__ = ["STATIC_DIR", "create_app"]

#: The page's HTML, CSS and JS (shipped in the wheel as package data).
STATIC_DIR = Path(__file__).resolve().parent / "static"
_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_HEADERS)


def _error(exc: Exception, redactor: Redactor) -> JSONResponse:
    """Any failure as JSON the page can show; secret values masked."""
    if isinstance(exc, ConfirmNeeded):
        return _json({"confirm": redactor.text(str(exc))}, 409)
    if isinstance(exc, RtkError):
        problems = [
            {"where": p.where, "message": redactor.text(p.message), "hint": redactor.text(p.hint)}
            for p in exc.problems
        ]
        error = {"kind": exc.kind, "message": redactor.text(exc.render()), "problems": problems}
        return _json({"error": error}, 400)
    message = redactor.text(f"{type(exc).__name__}: {exc}")
    return _json({"error": {"kind": "bug", "message": message, "problems": []}}, 500)


async def _body(request: Request) -> dict[str, Any] | None:
    """The request's JSON object, or ``None`` when it is not one."""
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _not_an_object() -> JSONResponse:
    return _json({"error": {"kind": "config", "message": "a JSON object, please"}}, 400)


def create_app(playground: Playground, *, host: str, port: int, csrf_token: str) -> ASGIApp:
    """The app for one session, guarded for ``host:port`` with ``csrf_token``."""

    def session(request: Request) -> Response:
        return _json(
            {
                "csrf": csrf_token,
                **playground.targets(),
                "workflow": playground.workflow_file and str(playground.workflow_file),
            }
        )

    def get(handler: Any) -> Any:
        def endpoint(request: Request) -> Response:
            try:
                return _json(handler(request))
            except Exception as exc:
                return _error(exc, playground.redactor())

        return endpoint

    def post(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            body = await _body(request)
            if body is None:
                return _not_an_object()
            try:
                return _json(await run_in_threadpool(handler, body))
            except Exception as exc:
                return _error(exc, playground.redactor())

        return endpoint

    async def run(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        body = await _body(request)
        if body is None:
            return _not_an_object()
        try:
            stream = await run_in_threadpool(playground.start_run, body)
        except Exception as exc:
            return _error(exc, playground.redactor())
        headers = {**_HEADERS, "x-accel-buffering": "no"}
        return StreamingResponse(stream.events(), media_type="text/event-stream", headers=headers)

    def compare(request: Request) -> dict[str, Any]:
        q = request.query_params
        return playground.compare(q.get("step", ""), q.get("a", ""), q.get("b", ""))

    def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=_HEADERS)

    def favicon(request: Request) -> Response:
        # the page links /static/favicon.svg; a browser may still ask for /favicon.ico
        svg = STATIC_DIR / "favicon.svg"
        return FileResponse(svg, media_type="image/svg+xml", headers=_HEADERS)

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/api/session", session),
        Route("/api/tasks", get(lambda r: playground.tasks())),
        Route("/api/tasks/{task_id}", get(lambda r: playground.task(r.path_params["task_id"]))),
        Route("/api/workflow", get(lambda r: {"workflow": playground.workflow()})),
        Route("/api/preview", post(playground.preview), methods=["POST"]),
        Route("/api/test", post(playground.test), methods=["POST"]),
        Route("/api/target", post(playground.switch), methods=["POST"]),
        Route("/api/add", post(playground.add), methods=["POST"]),
        Route("/api/compare", get(compare)),
        Route("/api/run", run, methods=["POST"]),
        *editor_routes(playground, _json, _error),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes)
    return Guard(app, host=host, port=port, csrf_token=csrf_token)
