"""Keeping secret values out of everything shown: results, errors, cURL text, logs.

A :class:`Redactor` knows the secret values of one call (the API token, the workflow's
``secrets``) and replaces each occurrence with ``***``. Checks run on raw bytes or text
first, so the common case (no secret in a body) costs one substring search.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "SENSITIVE_HEADERS", "Redactor"]

MASK = "***"
#: Headers whose values are always masked, whatever they hold.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-auth-key", "x-api-key"}
)
_MIN_LENGTH = 4  # shorter "secrets" would mask ordinary text everywhere


class Redactor:
    """Masks a fixed set of secret values."""

    __slots__ = ("_bytes", "_secrets", "_values")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        originals = {s for s in secrets if s and len(s) >= _MIN_LENGTH}
        self._secrets = tuple(sorted(originals))
        # every form a value can take where it is shown: as it is, escaped in JSON text
        # (with and without \u escapes), percent-encoded in a URL
        forms = {form for value in originals for form in _forms(value)}
        self._values = tuple(sorted(forms, key=len, reverse=True))
        self._bytes = tuple(v.encode() for v in self._values)

    def extend(self, secrets: Iterable[str | None]) -> Redactor:
        """A redactor that masks these secrets too."""
        return Redactor((*self._secrets, *secrets))

    @property
    def values(self) -> tuple[str, ...]:
        """The secret values (for combining redactors; never for display)."""
        return self._secrets

    def __bool__(self) -> bool:
        return bool(self._values)

    def text(self, text: str) -> str:
        """``text`` with every secret masked."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def contains(self, data: bytes | str) -> bool:
        """Whether any secret occurs in ``data``."""
        if isinstance(data, str):
            return any(v in data for v in self._values)
        return any(v in data for v in self._bytes)

    def value(self, value: Any) -> Any:
        """A JSON-like value with every secret in its strings (keys too) masked."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers for display: sensitive ones masked, secrets masked in the rest."""
        out: dict[str, str] = {}
        for name, value in headers:
            if name.lower() in SENSITIVE_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                out[name] = f"{scheme} {MASK}".strip()
            else:
                out[name] = self.text(value)
        return out


def _forms(value: str) -> set[str]:
    """``value`` as it is, JSON-escaped, ``\\u``-escaped and percent-encoded."""
    forms = {
        value,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }
    return {f for f in forms if len(f) >= _MIN_LENGTH}
