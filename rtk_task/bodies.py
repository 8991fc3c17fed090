"""Request bodies and query strings in every encoding the manifests describe. Pure but for
reading the files a step names.

- JSON of any type (an object of fields, or the whole ``body`` input: an array, a scalar).
- ``application/x-www-form-urlencoded`` and query strings with OpenAPI ``style``/``explode``:
  arrays as repeated keys (``form``, exploded: the default), joined by ``,`` (not exploded),
  `` `` (``spaceDelimited``) or ``|`` (``pipeDelimited``); objects as ``key=value`` pairs
  (``form``, exploded) or ``name[key]=value`` (``deepObject``, nested as deep as they go).
- ``multipart/form-data``: text fields as they are (objects and arrays of objects as JSON),
  file fields (``format: binary``) streamed from the path the step gives.
- Any other type (``text/plain``, ``application/octet-stream``, ``image/png``...): the
  ``body`` input as text, or the bytes of the file it names when the field is binary.

A body with files is :class:`Segments`: bytes and :class:`FilePart` s, whose files are read in
chunks each time the request is sent (never whole into memory, so a retry reads them again).
A file is checked when the body is built (readable, at most :data:`MAX_FILE_BYTES`: else an
input error naming the field, and nothing is sent). Each encoding also gives the body for
display and the arguments of its cURL command.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pydantic_core import to_json

from .errors import InputError, Problem
from .manifests.model import FORM, MULTIPART, Param, is_json, media_type

__all__ = ["MAX_FILE_BYTES", "Encoded", "FilePart", "Segments", "encode_body", "query_pairs"]

#: The largest file a body or a multipart field may send (1 GiB): streamed, never held whole.
MAX_FILE_BYTES = 1024 * 1024 * 1024
#: The bytes read from a file at a time while it is sent.
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FilePart:
    """A file sent as part of a body: ``size`` bytes read from ``path`` when sent."""

    path: str
    size: int


@dataclass(frozen=True, slots=True)
class Segments:
    """A body made of bytes and files, streamed in order; its length is known up front."""

    parts: tuple[bytes | FilePart, ...]

    def __len__(self) -> int:
        return sum(p.size if isinstance(p, FilePart) else len(p) for p in self.parts)

    def chunks(self) -> Iterator[bytes]:
        """The body's bytes, each file read afresh in :data:`CHUNK` pieces.

        A file that shrank since the body was built raises :class:`OSError`: the request
        would be shorter than the ``Content-Length`` it announced.
        """
        for part in self.parts:
            if not isinstance(part, FilePart):
                yield part
                continue
            left = part.size
            with open(part.path, "rb") as handle:
                while left:
                    chunk = handle.read(min(CHUNK, left))
                    if not chunk:
                        raise OSError(f"the file {part.path!r} shrank while it was sent")
                    left -= len(chunk)
                    yield chunk


@dataclass(frozen=True, slots=True)
class Encoded:
    """A body: its bytes, its ``Content-Type``, what is shown, and its cURL arguments."""

    content: bytes | Segments
    content_type: str
    shown: Any
    #: ``(option, value)``: ``--data-raw TEXT``, ``--form-string NAME=TEXT``,
    #: ``-F NAME=@PATH``, ``--data-binary @PATH``.
    curl: tuple[tuple[str, str], ...]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


_JOINERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


def query_pairs(name: str, value: Any, param: Param | None) -> list[tuple[str, str]]:
    """``name=value`` pairs of one query parameter or form field, as its style says."""
    style = (param.style if param else None) or "form"
    explode = param.explode if param and param.explode is not None else style == "form"
    if isinstance(value, list):
        if style == "deepObject" or (explode and style == "form"):
            return [(name, _scalar(v)) for v in value]
        return [(name, _JOINERS.get(style, ",").join(_scalar(v) for v in value))]
    if isinstance(value, dict):
        if style == "deepObject":
            return list(_deep(name, value))
        if explode:
            return [(str(k), _scalar(v)) for k, v in value.items()]
        return [(name, ",".join(f"{k},{_scalar(v)}" for k, v in value.items()))]
    return [(name, _scalar(value))]


def _deep(prefix: str, value: Any) -> Iterable[tuple[str, str]]:
    """``a[b][c]=v`` pairs of nested objects; arrays as ``a[b][]``, or indexed when they hold
    objects (``a[0][b]``)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _deep(f"{prefix}[{key}]", sub)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            if isinstance(sub, dict | list):
                yield from _deep(f"{prefix}[{index}]", sub)
            else:
                yield f"{prefix}[]", _scalar(sub)
    else:
        yield prefix, _scalar(value)


def encode_body(
    content_type: str, value: Any, params: dict[str, Param], whole: Param | None
) -> Encoded:
    """The body ``value`` (a mapping of fields, or the whole ``body`` input) as ``content_type``.

    ``params`` are the body fields by name (their styles and which are files); ``whole`` the
    parameter of a whole body, if the body is one.
    """
    kind = media_type(content_type)
    if is_json(kind):
        raw = to_json(value)
        return Encoded(raw, content_type, value, (("--data-raw", raw.decode("utf-8")),))
    if kind == FORM and isinstance(value, dict):
        pairs = [
            pair for name, sub in value.items() for pair in query_pairs(name, sub, params.get(name))
        ]
        text = urlencode(pairs)
        return Encoded(text.encode("ascii"), content_type, value, (("--data-raw", text),))
    if kind == MULTIPART and isinstance(value, dict):
        return _multipart(value, params)
    if (whole is not None and whole.is_file) or isinstance(value, Path):
        path = str(value)
        shown = f"<file {path}>"
        body = Segments((_file(path, "body"),))
        return Encoded(body, content_type, shown, (("--data-binary", "@" + path),))
    if isinstance(value, str):
        return Encoded(value.encode("utf-8"), content_type, value, (("--data-raw", value),))
    raw = to_json(value)  # a structured value for a text type: its JSON text
    return Encoded(raw, content_type, value, (("--data-raw", raw.decode("utf-8")),))


def _multipart(value: dict[str, Any], params: dict[str, Param]) -> Encoded:
    # httpx's own encoder frames the parts (its public API sends text fields alone
    # urlencoded); a file's content is a FilePart, streamed when sent
    import mimetypes

    from httpx._multipart import FileField, MultipartStream

    data: dict[str, list[str]] = {}
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    sources: list[FilePart] = []
    shown: dict[str, Any] = {}
    curl: list[tuple[str, str]] = []
    for name, sub in value.items():
        param = params.get(name)
        items = sub if isinstance(sub, list) else [sub]
        item_param = param.items if param is not None and param.items is not None else param
        for item in items:
            if item_param is not None and item_param.is_file:
                path = str(item)
                kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
                sources.append(_file(path, name))
                files.append((name, (os.path.basename(path), b"", kind)))
                shown[name] = f"<file {path}>"
                curl.append(("-F", f"{name}=@{path}"))
            else:
                text = _scalar(item)
                data.setdefault(name, []).append(text)
                shown[name] = sub
                curl.append(("--form-string", f"{name}={text}"))
    stream = MultipartStream(data=data, files=files)
    parts: list[bytes | FilePart] = []
    pending = iter(sources)  # the files, in the order the stream frames them
    for field in stream.fields:
        parts.append(b"--%s\r\n" % stream.boundary)
        if isinstance(field, FileField):
            parts += [field.render_headers(), next(pending), b"\r\n"]
        else:
            parts.append(b"".join(field.render()) + b"\r\n")
    parts.append(b"--%s--\r\n" % stream.boundary)
    joined = tuple(_joined(parts))
    content = joined[0] if len(joined) == 1 and isinstance(joined[0], bytes) else Segments(joined)
    return Encoded(content, stream.get_headers()["Content-Type"], shown, tuple(curl))


def _joined(parts: list[bytes | FilePart]) -> Iterator[bytes | FilePart]:
    """``parts`` with neighbouring bytes joined into one."""
    run: list[bytes] = []
    for part in parts:
        if isinstance(part, bytes):
            run.append(part)
            continue
        if run:
            yield b"".join(run)
            run = []
        yield part
    if run:
        yield b"".join(run)


def _file(path: str, field: str) -> FilePart:
    """``path`` as a part of a body: a readable file of at most :data:`MAX_FILE_BYTES`, or an
    input error naming ``field``."""
    try:
        with open(path, "rb") as handle:  # readable now, by this process
            size = os.fstat(handle.fileno()).st_size
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputError(Problem(field, f"{path!r} is not a file", "give a file's path"))
    except OSError as exc:
        raise InputError(
            Problem(field, f"cannot read the file {path!r}: {exc.strerror}", "give a file's path")
        ) from None
    if size > MAX_FILE_BYTES:
        raise InputError(
            Problem(field, f"the file {path!r} is over {MAX_FILE_BYTES:,} bytes", "send less")
        )
    return FilePart(path, size)
