"""The web playground: find a task, read it, fill it, preview, test, chain it into a workflow.

An ASGI app (:mod:`.app`) over the same core as the CLI (:mod:`.service`; the whole-workflow
check in :mod:`.checking`, run records in :mod:`.runs`, Run workflow streamed by
:mod:`.stream`), guarded by :mod:`.security`, with a plain HTML/CSS/JS page in ``static/``
(no build step, no CDN).
``rtk-task ui`` serves it on loopback with :class:`UiServer`.
"""

from __future__ import annotations

from .server import UiServer

__all__ = ["UiServer"]
