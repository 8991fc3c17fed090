"""Keeping secret values out of everything shown: results, errors, cURL text, logs.

A :class:`Redactor` knows the secret values of one call (the API token, the workflow's
``secrets``) and replaces each occurrence with ``***``: as it is, JSON-escaped (with and
without ``\\u`` escapes), percent-encoded, and base64-encoded as in a ``Basic`` header (the
secret alone, or after ``user:``). :meth:`Redactor.cut` cuts text for display and masks a
secret's first part left at the cut. Checks run on raw bytes or text first, so the common case
(no secret in a body) costs one substring search.

Secrets read from the environment go through :func:`read_env`, which strips trailing CR/LF
(a value from a file with Windows line ends), so the value sent is the value masked.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "SENSITIVE_HEADERS", "Redactor", "control_characters", "read_env"]

MASK = "***"
#: Headers whose values are always masked, whatever they hold.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-auth-key", "x-api-key"}
)
_MIN_LENGTH = 4  # shorter "secrets" would mask ordinary text everywhere
_PREFIX_LENGTH = 8  # a secret's first part this long (or half of it) at a cut is masked


def read_env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The environment variable ``name`` with trailing CR/LF stripped; ``None`` when unset.

    A token saved in a file with Windows line ends arrives as ``"...\\r"``: sent as it is,
    it is an illegal header value, and masking the stripped value would miss it.
    """
    value = (os.environ if environ is None else environ).get(name)
    return None if value is None else value.rstrip("\r\n")


def control_characters(value: str) -> bool:
    """Whether ``value`` holds a control character (which no header value may hold)."""
    return any(ord(c) < 32 or ord(c) == 127 for c in value)


class Redactor:
    """Masks a fixed set of secret values."""

    __slots__ = ("_bytes", "_longest", "_secrets", "_values")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        originals = {s for s in secrets if s and len(s) >= _MIN_LENGTH}
        self._secrets = tuple(sorted(originals))
        # every form a value can take where it is shown: as it is, escaped in JSON text
        # (with and without \u escapes), percent-encoded in a URL
        forms = {form for value in originals for form in _forms(value)}
        self._values = tuple(sorted(forms, key=len, reverse=True))
        self._bytes = tuple(v.encode() for v in self._values)
        self._longest = max((len(v) for v in self._values), default=0)

    @classmethod
    def from_env(cls, names: Iterable[str | None], *secrets: str | None) -> Redactor:
        """A redactor of these environment variables' values (as :func:`read_env` reads them)
        and of ``secrets``."""
        return cls([*(read_env(n) for n in names if n), *secrets])

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

    def cut(self, text: str, limit: int) -> str:
        """``text`` masked and cut to ``limit`` characters for display.

        A secret that straddles the cut would leave its first part showing: a prefix of a
        secret (in any form) at least 8 characters long, or half the secret, ending the cut
        text is masked too.
        """
        if len(text) <= limit:
            return self.text(text)
        # mask before cutting, over enough text that a secret across the limit is whole
        shown = self.text(text[: limit + self._longest])[:limit]
        return self._mask_tail(shown)

    def _mask_tail(self, text: str) -> str:
        for value in self._values:
            shortest = min(_PREFIX_LENGTH, (len(value) + 1) // 2)
            for size in range(min(len(value) - 1, len(text)), shortest - 1, -1):
                if text.endswith(value[:size]):
                    return text[: len(text) - size] + MASK
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
    """``value`` as it is, JSON-escaped, ``\\u``-escaped, percent-encoded and base64."""
    forms = {
        value,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
        *_base64_forms(value.encode()),
    }
    return {f for f in forms if len(f) >= _MIN_LENGTH}


def _base64_forms(data: bytes) -> set[str]:
    """The base64 text that ``data`` alone decides, wherever it sits in what is encoded.

    Base64 encodes groups of 3 bytes, so a secret after ``user:`` starts at any of 3 offsets.
    For each, the characters of groups that mix in other bytes are dropped: what is left is
    in every encoding that holds the secret (``Basic base64(user:secret)``, or the secret
    alone). At the end of the encoded text (the ``user:secret`` case) the last, padded group
    is the secret's too, so that longer form is kept as well.
    """
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        head = 4 if offset else 0  # the first group mixes in the bytes before the secret
        forms.add(encoded[head:])  # the secret at the end: padded last group included
        whole = (len(data) + offset) // 3 * 4  # characters of complete groups
        if whole - head >= 8:  # a secret in the middle: only its complete groups
            forms.add(encoded[head:whole])
    return {f for f in forms if len(f) >= 8}
