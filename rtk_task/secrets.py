"""Keeping secret values out of everything shown: results, errors, cURL text, logs.

A :class:`Redactor` knows the secret values of one call (the API token, the workflow's
``secrets``) and replaces each with ``***`` in every form a server or a client may write it:

- as it is; HTML-escaped (as Python's ``html.escape``, PHP, Go, Rails, lodash, Handlebars,
  OWASP encoders and XML write it: ``&amp;``, ``&quot;``, ``&#34;``, ``&#39;``, ``&#039;``,
  ``&#x27;``, ``&apos;``, ``&#x2F;``, ``&#47;``, ...); percent-encoded (``quote``,
  ``quote_plus`` and ``encodeURIComponent`` styles, ``/`` kept or encoded, upper- or
  lower-case hex: ``%2F``, ``%2f``);
- each of those as JSON text: raw non-ASCII or ``\\u`` escapes (lower- or upper-case hex),
  with ``/`` as it is or as ``\\/`` (PHP's ``json_encode``);
- hex of its UTF-8 bytes (lower- and upper-case); base64, standard and URL-safe, padded or
  not, as in a ``Basic`` header (the secret alone, or after ``user:``).

A secret of :data:`SHORT_SECRET` (8) characters or more is masked wherever it occurs. A shorter
one is masked only as a *whole value*, never inside longer text (that would hide ordinary
data): a text (a string in :meth:`Redactor.value`'s walk, a header value, a message) that is
one of its forms, ``Bearer <form>``, or ``Basic`` base64 of ``user:secret``, ``secret:`` or
the secret; and, inside text, a form that is a whole JSON string (``"..."``) or a whole
``=value`` (a query or form field: up to ``&``, ``#``, ``;``, a space or the end). A number
in :meth:`Redactor.value`'s walk that shows a secret becomes its masked text.
:meth:`Redactor.short` names the short secrets, for warnings. The empty string is never a
secret.

All forms of all secrets are searched with one compiled regular expression (a trie of the
forms, built once per set of secrets and cached), so the common case (no secret in a body)
costs one regex search. :meth:`Redactor.cut` cuts text for display and masks a secret's first
part left at the cut.

Secrets read from the environment go through :func:`read_env`, which strips trailing CR/LF
(a value from a file with Windows line ends), so the value sent is the value masked.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "SENSITIVE_HEADERS",
    "SHORT_SECRET",
    "Redactor",
    "control_characters",
    "read_env",
]

MASK = "***"
#: Headers whose values are always masked, whatever they hold.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-auth-key", "x-api-key"}
)
#: A secret this long (in characters) is masked anywhere; a shorter one only as a whole value.
SHORT_SECRET = 8
_MIN_LENGTH = 1  # every non-empty secret is masked (kept for importers of the old name)
_PREFIX_LENGTH = 8  # a secret's first part this long (or half of it) at a cut is masked
_WHOLE_LIMIT = 4096  # a longer text is never a short secret's whole value (nor its header)
_REPEATS = 4  # masking again, in case a mask and its neighbours spell a secret anew

_ESCAPED = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
#: How HTML encoders write what they escape (``&``, ``<``, ``>`` always, as named entities).
_HTML_STYLES = tuple(
    str.maketrans({**_ESCAPED, **extra})
    for extra in (
        {},  # html.escape(quote=False), Apache escapeHtml4 without quotes
        {'"': "&quot;", "'": "&#x27;"},  # Python's html.escape, Django
        {'"': "&quot;", "'": "&#39;"},  # lodash, Rails, Spring, .NET
        {'"': "&#34;", "'": "&#39;"},  # Go's html.EscapeString
        {'"': "&#34;", "'": "&#39;", "+": "&#43;"},  # Go's html/template
        {'"': "&quot;", "'": "&#039;"},  # PHP's htmlspecialchars
        {'"': "&quot;", "'": "&apos;"},  # XML, HTML5
        {'"': "&quot;", "'": "&#x27;", "/": "&#x2F;"},  # OWASP
        {'"': "&quot;", "'": "&#x27;", "/": "&#x2f;"},
        {'"': "&quot;", "'": "&#39;", "/": "&#47;"},
        {'"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"},  # Handlebars
    )
)
_URLSAFE = str.maketrans("+/", "-_")
_PERCENT = re.compile(r"%[0-9A-F]{2}")
_U_ESCAPE = re.compile(r"\\\\|\\u[0-9a-f]{4}")


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
    """Masks a fixed set of secret values (see the module's docstring for where)."""

    __slots__ = ("_masks", "_secrets")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = tuple(sorted({s for s in secrets if s}))
        self._masks = _compile(self._secrets)

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

    def short(self) -> tuple[str, ...]:
        """The secrets shorter than :data:`SHORT_SECRET`: masked only as whole values (for
        warnings; never for display)."""
        return tuple(s for s in self._secrets if len(s) < SHORT_SECRET)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, text: str) -> str:
        """``text`` with every secret masked: a long one anywhere, a short one where it is the
        whole text, a whole JSON string or a whole ``=value``."""
        masks = self._masks
        if masks.whole and len(text) <= _WHOLE_LIMIT:
            whole = self._whole(text)
            if whole is not None:
                return whole
        if masks.pattern is None:
            return text
        for _ in range(_REPEATS):
            text, count = masks.pattern.subn(masks.replace, text)
            if not count:
                break
        return text

    def _whole(self, text: str) -> str | None:
        """``text`` masked if it is a short secret's whole value (alone, or after ``Bearer``
        or ``Basic``), else ``None``."""
        masks = self._masks
        if text in masks.whole or text.strip() in masks.whole:
            return MASK
        scheme, _, rest = text.lstrip().partition(" ")
        lowered = scheme.lower()
        if (lowered == "bearer" and (rest in masks.whole or rest.strip() in masks.whole)) or (
            lowered == "basic" and _basic_holds(rest.strip(), masks.short)
        ):
            return f"{scheme} {MASK}"
        return None

    def cut(self, text: str, limit: int) -> str:
        """``text`` masked and cut to ``limit`` characters for display.

        A secret that straddles the cut would leave its first part showing: a prefix of a
        secret (in any form) at least 8 characters long, or half the secret, ending the cut
        text is masked too.
        """
        if len(text) <= limit:
            return self.text(text)
        # mask before cutting, over enough text that a secret across the limit is whole
        shown = self.text(text[: limit + self._masks.longest])[:limit]
        return self._mask_tail(shown)

    def _mask_tail(self, text: str) -> str:
        if not text:
            return text
        last = text[-1]
        for value in self._masks.forms:
            shortest = min(_PREFIX_LENGTH, (len(value) + 1) // 2)
            # the prefixes of value that end with text's last character, longest first
            at = value.rfind(last, 0, min(len(value) - 1, len(text)))
            while at + 1 >= shortest:
                if text.endswith(value[: at + 1]):
                    return text[: len(text) - at - 1] + MASK
                at = value.rfind(last, 0, at)
        return text

    def contains(self, data: bytes | str) -> bool:
        """Whether a secret may occur in ``data``: any form of a long secret, or a short
        secret's form (or a ``Basic`` header) anywhere, which may be a whole value there."""
        masks = self._masks
        if isinstance(data, str):
            return masks.find is not None and masks.find.search(data) is not None
        return masks.find_bytes is not None and masks.find_bytes.search(data) is not None

    def value(self, value: Any) -> Any:
        """A JSON-like value with every secret in its strings (keys too) masked; a number
        that shows a secret is replaced by its masked text."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = str(value)
            masked = self.text(shown)
            return value if masked == shown else masked
        return value

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        """Headers for display: sensitive ones masked, secrets masked in the rest (a short
        secret where it is the whole value, or follows ``Bearer``/``Basic``)."""
        out: dict[str, str] = {}
        for name, value in headers:
            if name.lower() in SENSITIVE_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                out[name] = f"{scheme} {MASK}".strip()
            else:
                out[name] = self.text(value)
        return out


# -- the forms and the pattern ------------------------------------------------------------


class _Masks(NamedTuple):
    """What a set of secrets compiles to."""

    #: Every form of the long secrets, longest first (for a cut's tail).
    forms: tuple[str, ...]
    longest: int
    #: Long forms anywhere; short forms as a whole JSON string or ``=value``.
    pattern: re.Pattern[str] | None
    replace: str | Callable[[re.Match[str]], str]
    #: Every form of every secret anywhere (``contains``), as text and as UTF-8 bytes.
    find: re.Pattern[str] | None
    find_bytes: re.Pattern[bytes] | None
    #: The short secrets' forms (whole values), and their UTF-8 bytes (for ``Basic``).
    whole: frozenset[str]
    short: tuple[bytes, ...]


@lru_cache(maxsize=64)
def _compile(secrets: tuple[str, ...]) -> _Masks:
    """The forms and patterns of ``secrets`` (built once per set: a client extends its
    redactor with a call's secrets on every call)."""
    long = {f for s in secrets if len(s) >= SHORT_SECRET for f in _forms(s, whole=False)}
    short = [s for s in secrets if len(s) < SHORT_SECRET]
    whole = frozenset(f for s in short for f in _forms(s, whole=True))
    forms = tuple(sorted(long, key=lambda f: (-len(f), f)))
    pattern: re.Pattern[str] | None = None
    replace: str | Callable[[re.Match[str]], str] = MASK
    branches = [_trie(long)] if long else []
    if whole:
        inner = _trie(whole)
        branches += [f'"(?:{inner})(?P<q>")', f"=(?:{inner})(?P<e>)(?=[&#;\\s]|\\Z)"]
        replace = _replace
    if branches:
        pattern = re.compile("|".join(branches))
    anywhere = long | whole
    if short:  # a Basic header holding a short secret shows none of its forms
        anywhere |= {"Basic ", "basic ", "BASIC "}
    find = re.compile(_trie(anywhere)) if anywhere else None
    # the same search over UTF-8 bytes: each byte as one latin-1 character
    as_bytes = {f.encode().decode("latin-1") for f in anywhere}
    find_bytes = re.compile(_trie(as_bytes).encode("latin-1")) if as_bytes else None
    return _Masks(
        forms=forms,
        longest=max(map(len, forms), default=0),
        pattern=pattern,
        replace=replace,
        find=find,
        find_bytes=find_bytes,
        whole=whole,
        short=tuple(s.encode() for s in short),
    )


def _replace(match: re.Match[str]) -> str:
    if match.group("q") is not None:
        return f'"{MASK}"'
    if match.group("e") is not None:
        return f"={MASK}"
    return MASK


def _trie(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words`` (the longest at a position), as a trie:
    each branch starts with a literal, so a search skips ahead fast and tries one branch."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _branches(root)


def _branches(node: dict[str, Any]) -> str:
    alternatives = []
    for char, child in node.items():
        if not char:
            continue
        chars = [char]
        while len(child) == 1 and "" not in child:  # a chain of single continuations
            ((char, child),) = child.items()
            chars.append(char)
        alternatives.append(re.escape("".join(chars)) + _branches(child))
    if not alternatives:
        return ""
    body = "|".join(alternatives)
    if "" not in node:
        return body if len(alternatives) == 1 else f"(?:{body})"
    return f"(?:{body})?"  # a word ends here: longer ones first (greedy)


def _forms(value: str, *, whole: bool) -> set[str]:
    """Every form of ``value``: as it is, HTML-escaped, percent-encoded, hex and base64, each
    also as JSON text. ``whole``: base64 of the secret alone (a short secret is masked only
    whole), else of every place it may sit in what is encoded."""
    data = value.encode()
    base = {value, *(value.translate(style) for style in _HTML_STYLES)}
    base |= _percent_forms(value)
    base |= {data.hex(), data.hex().upper()}
    if whole:
        encoded = base64.b64encode(data).decode()
        base |= {encoded, encoded.rstrip("="), encoded.translate(_URLSAFE)}
        base.add(encoded.translate(_URLSAFE).rstrip("="))
    else:
        for form in _base64_forms(data):
            base |= {form, form.rstrip("="), form.translate(_URLSAFE)}
            base.add(form.translate(_URLSAFE).rstrip("="))
    return base.union(*map(_json_forms, base))


def _percent_forms(value: str) -> set[str]:
    """``value`` percent-encoded as ``quote``, ``quote_plus`` and JavaScript's
    ``encodeURIComponent`` write it, ``/`` encoded or kept, with upper- and lower-case hex."""
    forms = {
        quote(value, safe=""),
        quote(value, safe="/"),
        quote_plus(value, safe=""),
        quote_plus(value, safe="/"),
        quote(value, safe="!'()*"),
    }
    return forms | {_PERCENT.sub(lambda m: m.group().lower(), f) for f in forms}


def _json_forms(text: str) -> set[str]:
    """``text`` inside a JSON string: non-ASCII as it is or ``\\u``-escaped (lower- or
    upper-case hex), ``/`` as it is or as ``\\/``."""
    escaped = json.dumps(text)[1:-1]
    forms = {
        json.dumps(text, ensure_ascii=False)[1:-1],
        escaped,
        _U_ESCAPE.sub(lambda m: m.group().upper().replace("\\U", "\\u"), escaped),
    }
    return forms | {f.replace("/", "\\/") for f in forms}


def _basic_holds(encoded: str, secrets: tuple[bytes, ...]) -> bool:
    """Whether ``encoded`` is base64 (standard or URL-safe, padded or not) of ``user:secret``,
    ``secret:`` or the secret, for one of ``secrets``."""
    if not encoded or len(encoded) % 4 == 1:
        return False
    try:
        padded = encoded.translate(_URLSAFE_BACK) + "=" * (-len(encoded) % 4)
        data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return False
    return any(data in (s, s + b":") or data.endswith(b":" + s) for s in secrets)


_URLSAFE_BACK = str.maketrans("-_", "+/")


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
