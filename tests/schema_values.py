"""Valid step inputs made from a manifest's parameter trees, for calls against a mock that
validates requests (Stoplight Prism) and for round trips.

:func:`inputs_for` gives every required input (path, query, body, headers) a value its
schema accepts: an enum's first value, a value inside a range, a string in its ``format``,
the first variant of a ``oneOf``, and for a file field the path of a small file it writes.
It is deterministic, so a failing call names the same inputs every time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rtk_task.manifests.model import Location, Manifest, Param, ParamType

__all__ = ["FILE_BYTES", "inputs_for", "value_for"]

#: The bytes of every file a file field is given: all 256 byte values, so an upload that
#: changes a byte (a text decode, a line-end rewrite) shows.
FILE_BYTES = bytes(range(256)) * 4

_FORMATS = {
    "date-time": "2024-05-01T10:00:00Z",
    "date": "2024-05-01",
    "time": "10:00:00",
    "email": "someone@example.com",
    "uri": "https://example.com/a",
    "url": "https://example.com/a",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
    "byte": "aGVsbG8=",
}


def value_for(p: Param, files: Path, *, full: bool = False) -> Any:
    """A value ``p``'s schema accepts; files are written under ``files``. ``full``: objects
    get every field, not only the required ones (a ``oneOf`` variant's value must tell it
    apart from the others, which an empty object would not)."""
    if p.enum:
        return next((v for v in p.enum if v is not None), p.enum[0])
    if p.one_of or p.any_of:
        return value_for((p.one_of or p.any_of)[0], files, full=True)
    if p.is_file:
        files.mkdir(parents=True, exist_ok=True)
        path = files / f"{p.name.strip('[]') or 'file'}.bin"
        path.write_bytes(FILE_BYTES)
        return str(path)
    if p.type is ParamType.STRING:
        return _FORMATS.get(p.format or "", "text")
    if p.type is ParamType.INTEGER:
        low = int(p.minimum) if p.minimum is not None else 1
        high = int(p.maximum) if p.maximum is not None else low + 10
        return max(low, min(high, 1 if low <= 1 <= high else low))
    if p.type is ParamType.NUMBER:
        least = float(p.minimum) if p.minimum is not None else 1.0
        most = float(p.maximum) if p.maximum is not None else least + 10
        return max(least, min(most, 1.5 if least <= 1.5 <= most else least))
    if p.type is ParamType.BOOLEAN:
        return True
    if p.type is ParamType.ARRAY:
        return [value_for(p.items, files, full=full)] if p.items is not None else ["text"]
    if p.type is ParamType.OBJECT:
        return {c.name: value_for(c, files) for c in p.children if c.required or full}
    return "text"  # any JSON value


def inputs_for(manifest: Manifest, files: Path) -> dict[str, Any]:
    """Every required input of ``manifest`` with a value its schema accepts (a whole body,
    and an object body's required fields, always: a mock checks the body's shape)."""
    out: dict[str, Any] = {}
    for loc in (Location.PATH, Location.QUERY, Location.BODY):
        for p in manifest.parameters.at(loc):
            # an object with required fields too: Prism reads a deepObject query parameter
            # left out as an empty object, and checks its required fields
            needed = p.type is ParamType.OBJECT and any(c.required for c in p.children)
            if p.required or needed or (loc is Location.BODY and manifest.body_whole):
                out[p.name] = value_for(p, files)
    headers = {p.name: str(value_for(p, files)) for p in manifest.parameters.header if p.required}
    if headers:
        out["headers"] = headers
    return out
