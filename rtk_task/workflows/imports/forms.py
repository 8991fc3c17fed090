"""cURL's request data as curl sends it: data files, ``--data-urlencode``, form and multipart
bodies, so that an imported step sends the same bytes.

- :func:`read_data_file`: ``-d @FILE`` (``--data``, ``--data-ascii``: carriage returns and
  newlines left out, as curl does), ``--data-binary @FILE`` and ``--json @FILE`` (as they
  are) read when the command is imported: at most :data:`MAX_DATA_FILE` bytes of UTF-8 text
  from a regular file. A missing, larger or binary file, or ``@-`` (standard input), is a
  :class:`~rtk_task.errors.ConfigError` naming the option.
- :func:`urlencode_data`: ``--data-urlencode`` in its five forms (``content``, ``=content``,
  ``name=content``, ``@file``, ``name@file``), the content encoded as curl 7.77 and later
  encode it (``A-Za-z0-9-._~`` kept, a space as ``+``, every other byte ``%XX``).
- :func:`form_body`: ``application/x-www-form-urlencoded`` data as a mapping of fields (a
  repeated name as a list) when sending that mapping encodes to the very same text, else the
  text itself (sent as it is).
- :func:`multipart`: ``-F``/``--form`` and ``--form-string`` as text fields and file fields
  (``name=@path``: the file is read when the step runs; ``name=<path``: a text field read
  now). What curl reads after a ``;`` (``type=``, ``filename=``, ``headers=``) is not sent:
  a note says so, as it does when the parts go in another order (text fields first).
"""

from __future__ import annotations

import os
import stat
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

from ...errors import ConfigError, Problem
from .text import literal, literal_deep

__all__ = ["MAX_DATA_FILE", "form_body", "multipart", "read_data_file", "urlencode_data"]

#: The largest data file an import reads (1 MiB): a request body, not an upload.
MAX_DATA_FILE = 1024 * 1024


def read_data_file(flag: str, path: str, *, strip_newlines: bool = False) -> str:
    """The text of the data file ``path`` of the option ``flag`` (see the module's doc)."""
    where = f"curl {flag} @{path}"
    if path == "-":
        raise ConfigError(
            Problem(where, "reads standard input, which an import cannot", "put the data in a file")
        )
    try:
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ConfigError(Problem(where, "is not a regular file", "name a file"))
            data = handle.read(MAX_DATA_FILE + 1)
    except OSError as exc:
        raise ConfigError(
            Problem(where, f"cannot read the file: {exc.strerror}", "give a readable file")
        ) from None
    if len(data) > MAX_DATA_FILE:
        raise ConfigError(
            Problem(
                where,
                f"the file is over {MAX_DATA_FILE:,} bytes: too large to import as a body",
                "upload it as a file field (-F name=@path), or import a smaller body",
            )
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            Problem(where, "is not UTF-8 text: binary data cannot be imported", "upload it with -F")
        ) from None
    return text.replace("\r", "").replace("\n", "") if strip_newlines else text


def urlencode_data(flag: str, arg: str) -> str:
    """One ``--data-urlencode`` argument as the text curl sends."""
    at = next((i for i, c in enumerate(arg) if c in "=@"), -1)
    if at < 0:
        return quote_plus(arg)
    name, mark, rest = arg[:at], arg[at], arg[at + 1 :]
    content = read_data_file(flag, rest) if mark == "@" else rest
    encoded = quote_plus(content)  # curl's escape, then %20 as +
    return f"{name}={encoded}" if name else encoded


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _add(fields: dict[str, Any], name: str, value: Any) -> None:
    """``value`` under ``name``; a name given again holds the list of its values."""
    fields[name] = [*_listed(fields[name]), value] if name in fields else value


def form_body(text: str) -> dict[str, Any] | str:
    """Form data as its fields, when they encode to exactly ``text``; else ``text``. Both
    are template text (literal parts made literal)."""
    fields: dict[str, Any] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        _add(fields, name, value)
    pairs = [(name, value) for name, values in fields.items() for value in _listed(values)]
    if not fields or urlencode(pairs) != text:
        return literal(text)
    return {name: literal_deep(value) for name, value in fields.items()}


def _split_params(text: str) -> tuple[str, list[str]]:
    """``value;type=x;filename=y`` (the value may be ``"quoted"``) as the value and what
    follows it."""
    if text.startswith('"'):
        out: list[str] = []
        i = 1
        while i < len(text) and text[i] != '"':
            if text[i] == "\\" and i + 1 < len(text):
                i += 1
            out.append(text[i])
            i += 1
        rest = text[i + 1 :]
        return "".join(out), [p for p in rest.split(";") if p.strip()]
    value, _, rest = text.partition(";")
    return value, [p for p in rest.split(";") if p.strip()]


def multipart(
    forms: list[tuple[str, str]], notes: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``-F``/``--form-string`` arguments (``(flag, argument)``, in order) as the text fields
    and the file fields (name -> path) of a multipart body; what is not sent is noted."""
    fields: dict[str, Any] = {}
    files: dict[str, Any] = {}
    file_first = False
    for flag, arg in forms:
        name, eq, content = arg.partition("=")
        if not eq or not name:
            raise ConfigError(
                Problem(f"curl {flag}", f"not name=content: {arg!r}", "-F 'name=value'")
            )
        if flag == "--form-string":
            _add(fields, name, literal(content))
            file_first = file_first or bool(files)
            continue
        value, params = _split_params(content[1:] if content[:1] in "@<" else content)
        if params:
            shown = ";".join(p.split("=", 1)[0] + "=..." for p in params)
            notes.append(
                f"curl {flag} {name}: {shown} is not sent (a file goes with the type its name"
                " suggests and its own name; a text field with no type)"
            )
        if content.startswith("@"):
            _add(files, name, literal(value))
        elif content.startswith("<"):
            _add(fields, name, literal(read_data_file(flag, value)))
            file_first = file_first or bool(files)
        else:
            _add(fields, name, literal(value))
            file_first = file_first or bool(files)
    if file_first:
        notes.append("the body's text fields are sent first, then its files (curl keeps -F order)")
    return fields, files
