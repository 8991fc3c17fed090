"""A cURL command line as a :class:`~rtk_task.workflows.imports.Request` that sends what
curl sends.

Split with :mod:`shlex` (POSIX shell words: quoting, backslash-newline continuations), so
``$VAR`` stays as written (the shell never ran). Understood: the URL (bare or ``--url``),
``-X/--request``, ``-I/--head``, ``-H/--header`` (``Name:`` removes a header, as in curl;
``Name;`` sends it empty), ``-A/--user-agent``, ``-e/--referer``, ``-b/--cookie NAME=VALUE``,
``-d/--data/--data-raw/--data-binary/--data-ascii``, ``--data-urlencode``, ``--json``,
``-F/--form``, ``--form-string``, ``-u/--user``, ``-G/--get``; flags that only change how
cURL shows things (``-s``, ``-S``, ``-v``, ``-i``, ``-L``, ...) are ignored. Anything else is
an error naming the flag, never silently dropped.

The body is what curl sends (:mod:`.forms`): data arguments joined by ``&`` (``@FILE`` read
now, within a size bound), ``--data-urlencode`` encoded as curl does, and sent as its
``Content-Type``: JSON (``--json``, or a JSON type given), form fields when no type is given
(curl's default for ``-d``: the header is added), or the text itself for any other type.
Data that reads as a JSON object or array with no type given stays JSON, and a note says
curl would have sent it as a form. ``-F`` makes a multipart body: text fields, and file
fields read when the step runs.

Everything in the command is literal text: a ``{{x}}`` in it stays ``{{x}}`` on the wire
(:func:`~.text.literal`), a brace in the URL is percent-encoded. JSON data is read within
the bounds of :mod:`rtk_task.limits` (:func:`~.text.read_json`). ``-u USER:PASSWORD`` is
kept only as a credential: :func:`~rtk_task.workflows.imports.request_step` declares both
as secrets, sends them as HTTP Basic, and never writes them.
"""

from __future__ import annotations

import re
import shlex
from typing import Any
from urllib.parse import parse_qsl

from ...errors import ConfigError, Problem
from ...manifests.model import FORM, MULTIPART, is_json, media_type
from .forms import form_body, multipart, read_data_file, urlencode_data
from .model import Request
from .text import literal, literal_deep, literal_url, read_json, split_url

__all__ = ["parse_curl"]

#: Data options: whether ``@FILE`` is read, and with newlines left out.
_DATA = {
    "-d": (True, True),
    "--data": (True, True),
    "--data-ascii": (True, True),
    "--data-binary": (True, False),
    "--data-raw": (False, False),
    "--json": (True, False),
}
_FORM = {"-F", "--form", "--form-string"}
_QUIET = {
    "-s", "--silent", "-S", "--show-error", "-v", "--verbose", "-i", "--include", "-L",
    "--location", "-k", "--insecure", "--compressed", "-f", "--fail", "-sS", "-Ss", "-sSL",
    "-fsSL", "-sL", "-Ls",
}  # fmt: skip
_CONTINUATION = re.compile(r"\\\r?\n")
_ARG_IGNORED = {"-o", "--output", "-m", "--max-time", "--connect-timeout", "-w", "--write-out"}
_HEADER_OF = {
    "-A": "User-Agent",
    "--user-agent": "User-Agent",
    "-e": "Referer",
    "--referer": "Referer",
}


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
    data: list[tuple[str, str]] = []  # (option, the text it sends)
    forms: list[tuple[str, str]] = []
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
        elif flag in ("-I", "--head"):
            method = "HEAD"
        elif flag in ("-H", "--header"):
            _header(headers, flag, value if value is not None else arg(flag))
        elif flag in _HEADER_OF:
            headers[_HEADER_OF[flag]] = literal(value if value is not None else arg(flag))
        elif flag in ("-b", "--cookie"):
            _cookie(headers, flag, value if value is not None else arg(flag))
        elif flag in _DATA:
            text = value if value is not None else arg(flag)
            reads, strip = _DATA[flag]
            if reads and text.startswith("@"):
                text = read_data_file(flag, text[1:], strip_newlines=strip)
            data.append((flag, text))
            is_json = is_json or flag == "--json"
        elif flag == "--data-urlencode":
            data.append((flag, urlencode_data(flag, value if value is not None else arg(flag))))
        elif flag in _FORM:
            forms.append((flag, value if value is not None else arg(flag)))
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
    notes: list[str] = []
    body: Any = None
    files: dict[str, Any] = {}
    if forms and (data or get):
        raise ConfigError(
            Problem("curl -F", "a multipart form and -d or -G at once", "curl refuses it too")
        )
    # --json pieces join the data before them as they are; other data joins with `&`
    text = "".join(
        ("" if flag == "--json" and n else "&" if n else "") + piece
        for n, (flag, piece) in enumerate(data)
    )
    if data and get:
        for name, item in parse_qsl(text, keep_blank_values=True):
            before = query.get(name)
            query[name] = literal(item) if before is None else [*_listed(before), literal(item)]
    elif data:
        body = _body(text, headers, is_json, notes)
    elif forms:
        body, files = multipart(forms, notes)
        if _content_type(headers) is None:
            headers["Content-Type"] = MULTIPART  # with text fields alone too
    user_pair: tuple[str, str | None] | None = None
    if user is not None:
        # -u sends Basic credentials: kept only as a credential (made a secret, never written)
        name, colon, password = user.partition(":")
        user_pair = (name, password if colon else None)
    if method is None:
        method = "POST" if ((data or forms) and not get) else "GET"
    return Request(
        method=method,
        url=url,
        headers=headers,
        query=query,
        body=body,
        source="curl",
        user=user_pair,
        files=files,
        notes=notes,
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _header(headers: dict[str, str], flag: str, line: str) -> None:
    """``-H 'Name: value'``; ``Name:`` removes the header, ``Name;`` sends it empty."""
    if line.startswith("@"):
        raise ConfigError(
            Problem(
                f"curl {flag} {line}",
                "headers read from a file cannot be imported",
                "give each header with -H 'Name: value'",
            )
        )
    name, colon, text = line.partition(":")
    if not colon and line.rstrip().endswith(";"):
        headers[line.rstrip()[:-1].strip()] = ""
        return
    if not colon or not name.strip():
        raise ConfigError(Problem(f"curl {flag}", f"not a header: {line!r}", "-H 'Name: value'"))
    for known in [k for k in headers if k.lower() == name.strip().lower()]:
        del headers[known]  # the last one given wins, as in curl
    if text.strip():
        headers[name.strip()] = literal(text.strip())


def _cookie(headers: dict[str, str], flag: str, text: str) -> None:
    """``-b 'a=1; b=2'``: the ``Cookie`` header (a cookie file cannot be imported)."""
    if "=" not in text:
        raise ConfigError(
            Problem(f"curl {flag}", "a cookie file cannot be imported", "-b 'name=value'")
        )
    before = headers.get("Cookie")
    headers["Cookie"] = f"{before}; {literal(text)}" if before else literal(text)


def _content_type(headers: dict[str, str]) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), None)


def _body(text: str, headers: dict[str, str], json_flag: bool, notes: list[str]) -> Any:
    """The data as its ``Content-Type`` (or curl's default for it) sends it."""
    given = _content_type(headers)
    if json_flag or given is None or is_json(given):
        where = "curl --json" if json_flag else "curl --data"
        try:
            value = read_json(text, where, ConfigError)
        except ConfigError as exc:
            if not exc.first.message.startswith("not JSON"):
                raise
            if json_flag or given is not None:
                raise ConfigError(
                    Problem(
                        where,
                        f"the data is {exc.first.message}, but it is sent as JSON",
                        "check its quoting, or give the Content-Type it has",
                    )
                ) from None
        else:
            if json_flag or given is not None:
                return literal_deep(value)
            if isinstance(value, dict | list):
                notes.append(
                    "the data is JSON but no Content-Type was given: curl sends it as"
                    f" {FORM}; the step sends it as application/json"
                )
                return literal_deep(value)
    if given is None:
        headers["Content-Type"] = FORM  # curl's default for -d
        return form_body(text)
    if media_type(given) == FORM:
        return form_body(text)
    return literal(text)  # another type: the text as it is
