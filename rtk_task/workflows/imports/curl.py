"""A cURL command line as a :class:`~rtk_task.workflows.imports.Request`.

Split with :mod:`shlex` (POSIX shell words: quoting, backslash-newline continuations), so
``$VAR`` stays as written (the shell never ran). Understood: the URL (bare or ``--url``),
``-X/--request``, ``-H/--header``, ``-d/--data/--data-raw/--data-binary/--data-ascii``,
``--data-urlencode``, ``--json``, ``-u/--user``, ``-G/--get``; flags that only change how
cURL shows things (``-s``, ``-S``, ``-v``, ``-i``, ``-L``, ...) are ignored. Anything else is
an error naming the flag, never silently dropped.

Everything in the command is literal text: a ``{{x}}`` in it stays ``{{x}}`` on the wire
(:func:`~.text.literal`), a brace in the URL is percent-encoded. JSON data is read within
the bounds of :mod:`rtk_task.limits` (:func:`~.text.read_json`). ``-u USER:PASSWORD`` is
kept only as a credential: :func:`~rtk_task.workflows.imports.request_step` declares both
as secrets and never writes them.
"""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import parse_qsl

from ...errors import ConfigError, Problem
from . import Request
from .text import literal, literal_deep, literal_url, read_json, split_url

__all__ = ["parse_curl"]

_DATA = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode"}
_QUIET = {
    "-s", "--silent", "-S", "--show-error", "-v", "--verbose", "-i", "--include", "-L",
    "--location", "-k", "--insecure", "--compressed", "-f", "--fail", "-sS", "-Ss", "-sSL",
    "-fsSL", "-sL", "-Ls",
}  # fmt: skip
_CONTINUATION = re.compile(r"\\\r?\n")
_ARG_IGNORED = {"-o", "--output", "-m", "--max-time", "--connect-timeout", "-w", "--write-out"}


def parse_curl(command: str) -> Request:
    """Parse ``command`` (with or without the leading ``curl``)."""
    try:
        # a backslash before a newline continues the line, as the shell reads it
        words = shlex.split(_CONTINUATION.sub(" ", command), comments=False, posix=True)
    except ValueError as exc:
        raise ConfigError(
            Problem("curl", f"cannot split the command: {exc}", "check its quotes")
        ) from None
    if words and words[0] == "curl":
        words = words[1:]
    method: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    data: list[str] = []
    is_json = False
    get = False
    user: str | None = None
    i = 0

    def arg(flag: str) -> str:
        nonlocal i
        i += 1
        if i >= len(words):
            raise ConfigError(Problem(f"curl {flag}", "needs a value"))
        return words[i]

    while i < len(words):
        word = words[i]
        flag, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        value = inline if eq else None
        if flag in ("-X", "--request"):
            method = (value or arg(flag)).upper()
        elif word.startswith("-X") and len(word) > 2:
            method = word[2:].upper()
        elif flag in ("-H", "--header"):
            name, _, text = (value or arg(flag)).partition(":")
            headers[name.strip()] = literal(text.strip())
        elif flag in _DATA:
            data.append(value if value is not None else arg(flag))
        elif flag == "--json":
            data.append(value if value is not None else arg(flag))
            is_json = True
        elif flag in ("-u", "--user"):
            user = value or arg(flag)
        elif flag in ("-G", "--get"):
            get = True
        elif flag == "--url":
            url = value or arg(flag)
        elif flag in _QUIET:
            pass
        elif flag in _ARG_IGNORED:
            if value is None:
                arg(flag)
        elif word.startswith("-"):
            raise ConfigError(
                Problem(
                    f"curl {flag}",
                    "this cURL option cannot be imported",
                    "remove it, or write the step by hand",
                )
            )
        elif url is None:
            url = word
        else:
            raise ConfigError(Problem("curl", f"a second URL: {word!r}", "import one request"))
        i += 1
    if url is None:
        raise ConfigError(Problem("curl", "no URL in the command", "curl https://host/path ..."))
    if "://" not in url:
        url = "https://" + url
    url, query = split_url(literal_url(url))
    body: Any = None
    if data and get:
        for chunk in data:
            query.update((k, literal(v)) for k, v in parse_qsl(chunk, keep_blank_values=True))
    elif data:
        body = _body("&".join(data), is_json)
    user_pair: tuple[str, str | None] | None = None
    if user is not None:
        # -u sends Basic credentials: kept only as a credential (made a secret, never written)
        name, colon, password = user.partition(":")
        user_pair = (name, password if colon else None)
    if method is None:
        method = "POST" if (data and not get) else "GET"
    return Request(
        method=method,
        url=url,
        headers=headers,
        query=query,
        body=body,
        source="curl",
        user=user_pair,
    )


def _body(text: str, is_json: bool) -> Any:
    """The data as JSON (read within bounds), else as form fields, else as text."""
    try:
        return literal_deep(read_json(text, "curl --data", ConfigError))
    except ConfigError as exc:
        if not exc.first.message.startswith("not JSON"):
            raise
        if is_json:
            raise ConfigError(
                Problem("curl --json", f"the data is {exc.first.message}", "check its quoting")
            ) from None
    form = {k: literal(v) for k, v in parse_qsl(text, keep_blank_values=True)}
    return form or literal(text)
