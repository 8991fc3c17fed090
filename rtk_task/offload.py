"""Blocking work in async code, and its sync twin: a pair ``scripts/unasync.py`` maps.

:func:`off_loop` runs a blocking call (a template render that may run to its budget, a secret
read from a file or the keyring) in a worker thread, so that it never holds the event loop, or
where it stands when ``light()`` says it is light (a thread hop costs more than the work). Sync
code generated from async code (``scripts/unasync.py`` turns ``await off_loop(`` into
``in_place(``) has no loop to keep free: :func:`in_place` runs the call where it stands and
never asks ``light`` (the sync code pays nothing for the question, and a question that could
fail, compiling templates, fails where it did before: inside the call). The async source says
once where its work may block; the sync code is correct without a line of its own.

``asyncio`` is imported on the first hop: rendering alone never loads an event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["in_place", "off_loop"]

P = ParamSpec("P")
T = TypeVar("T")


async def off_loop(
    light: Callable[[], bool], fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """``fn(*args, **kwargs)`` in a worker thread (:func:`asyncio.to_thread`), or here when
    ``light()``."""
    if light():
        return fn(*args, **kwargs)
    import asyncio  # here: a dry run (rendering alone) never loads an event loop

    return await asyncio.to_thread(fn, *args, **kwargs)


def in_place(
    light: Callable[[], bool], fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """``fn(*args, **kwargs)``, here: :func:`off_loop` in sync code, with no loop to keep
    free (``light``, the async source's question, is never asked)."""
    del light
    return fn(*args, **kwargs)
