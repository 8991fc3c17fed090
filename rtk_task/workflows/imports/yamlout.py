"""An imported workflow as YAML text, written in one linear pass.

ruamel's emitter analyses every scalar in pure Python (about a millisecond per imported
step): 20,000 steps took longer than the whole import. :func:`dump` writes the same layout
(block style, mappings indented by 2, sequence dashes by 2 under their key, as
``to_yaml`` always did) for what an importer makes (mappings with string keys, lists,
strings, numbers, booleans and null), choosing each scalar's style by a few rules:

- plain when YAML reads it back as that same string: printable, not starting with an
  indicator, a digit, a dot or a sign, without ``": "``, ``" #"``, a trailing ``:`` or
  surrounding spaces, and not a word YAML reads as a boolean or null;
- else single-quoted when it is one line of printable characters (``'`` doubled);
- else double-quoted, with every other character escaped (``\\n``, ``\\x..``, ``\\u....``).

Anything else (a key that is not a string or longer than a YAML simple key may be, a type
JSON does not have) goes to ruamel, which writes every document.
"""

from __future__ import annotations

import io
import math
import re
from functools import lru_cache
from typing import Any

__all__ = ["dump"]

# printable in YAML, one line, no BOM, no NEL/LS/PS (read as line breaks), no surrogate
_PRINTABLE = re.compile(
    r"[ -~\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*"
)
_PLAIN = re.compile(r"[A-Za-z_/$(\u00a0-\U0010ffff][^\t]*")
_NOT_PLAIN = re.compile(r": |\s#|:$|\s$|^\s")
_RESERVED = frozenset(
    {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf", "=", "<<"}
)
_KEY_MAX = 1000
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


class _Unsupported(Exception):
    """A value :func:`dump` leaves to ruamel."""


def _double(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _PRINTABLE.fullmatch(ch):
            out.append(ch)
        else:
            code = ord(ch)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else
                f"\\U{code:08x}"
            )  # fmt: skip
    out.append('"')
    return "".join(out)


def _string(text: str) -> str:
    if (
        _PLAIN.fullmatch(text)
        and _PRINTABLE.fullmatch(text)
        and not _NOT_PLAIN.search(text)
        and text.lower() not in _RESERVED
    ):
        return text
    if text and _PRINTABLE.fullmatch(text):
        return "'" + text.replace("'", "''") + "'"
    return _double(text)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(float(value))
    if isinstance(value, str):
        return _string(str(value))
    raise _Unsupported(type(value).__name__)


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise _Unsupported("a key that is not a string")
    text = _key_text(key)
    if len(text) > _KEY_MAX:
        raise _Unsupported("a long key")
    return text


@lru_cache(maxsize=1024)
def _key_text(key: str) -> str:
    """A key's text: the same few keys come back in every step."""
    return _string(key)


def _mapping(data: dict[Any, Any], indent: int, out: list[str], first: str | None = None) -> None:
    pad = " " * indent
    for i, (key, value) in enumerate(data.items()):
        head = (first if i == 0 and first is not None else pad) + _key(key) + ":"
        if isinstance(value, dict) and value:
            out.append(head)
            _mapping(value, indent + 2, out)
        elif isinstance(value, list) and value:
            out.append(head)
            _sequence(value, indent + 2, out)
        else:
            out.append(f"{head} {_flow_empty(value)}")


def _sequence(items: list[Any], indent: int, out: list[str]) -> None:
    dash = " " * indent + "- "
    for item in items:
        if isinstance(item, dict) and item:
            _mapping(item, indent + 2, out, first=dash)
        elif isinstance(item, list) and item:
            out.append(dash.rstrip())
            _sequence(item, indent + 2, out)
        else:
            out.append(dash + _flow_empty(item))


def _flow_empty(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def _ruamel(data: dict[str, Any]) -> str:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def dump(data: dict[str, Any]) -> str:
    """``data`` (a workflow) as YAML text."""
    out: list[str] = []
    try:
        _mapping(data, 0, out)
    except _Unsupported:
        return _ruamel(data)
    return "\n".join(out) + "\n"
