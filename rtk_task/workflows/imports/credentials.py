"""What an imported credential looks like, and which variables an imported step may not read.

An importer never writes a credential's value: each header, query parameter or body field
:func:`is_credential` says holds one becomes a declared secret. A name says so when it is
one of the known ones (``Authorization``, ``Cookie``, ``X-Api-Key``, ``Private-Token``,
``X-Amz-Signature``, ``client_secret``, ``access_token``, ``key``, ...) or, for a header,
contains ``key``, ``token``, ``secret``, ``auth``, ``password``, ``signature``, ``session``
or ``cookie`` (case-insensitive); a query or body name, with ``_`` and ``-`` left out,
containing ``token``, ``secret``, ``password``, ``passwd``, ``signature``, ``credential``,
``apikey``, ``accesskey`` or ``privatekey``. A value says so when it is a scheme and a
token (``Bearer ...``, ``Token ...``, ``Basic ...``) or has a part that :func:`looks_secret`:
20 or more characters of ``[A-Za-z0-9_-+/=.]`` with letters and digits, and not a
repetitive one (at least 3 bits of entropy per character). Headers and query parameters
are judged by name and value (a known task's own parameters by name only), body fields by
name only (ids and hashes are common there).

:func:`imported_env` renames a variable an imported step may not read: a built-in
provider's credential (its token is sent only to its own hosts, never named by an import)
and the usual cloud, CI and registry credentials (``AWS_SECRET_ACCESS_KEY``,
``GOOGLE_APPLICATION_CREDENTIALS``, ``GITHUB_TOKEN``...): the step reads ``IMPORTED_<NAME>``
instead, and a note says so. :func:`redact` hides what looks like a credential in text that
is shown (a note, an input's description).
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = [
    "IMPORTED_PREFIX",
    "imported_env",
    "is_credential",
    "looks_secret",
    "name_is_credential",
    "redact",
    "scheme_of",
]

#: What a renamed variable starts with.
IMPORTED_PREFIX = "IMPORTED_"

#: Header names (lower case) that always carry a credential.
_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "x-apikey",
        "x-api-token",
        "x-auth-key",
        "x-auth-token",
        "api-key",
        "apikey",
        "private-token",
        "x-amz-security-token",
    }
)
#: Parts of a header name that make it a credential's.
_HEADER_WORDS = re.compile("key|token|secret|auth|password|signature|session|cookie")
#: Query and body names (lower case) that always carry a credential.
_NAMES = frozenset(
    {
        "signature",
        "sig",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "token",
        "password",
        "passwd",
        "pwd",
        "secret",
        "auth",
        "private_token",
    }
)
#: Parts of a query or body name that make it a credential's (``_`` and ``-`` left out).
_NAME_WORDS = re.compile(
    "token|secret|password|passwd|signature|credential|apikey|accesskey|privatekey"
)
#: ``Bearer x``, ``Token x``...: a scheme and the credential.
_SCHEME = re.compile(
    r"^\s*(Bearer|Basic|Token|Bot|Digest|ApiKey|Api-Key|Key|OAuth|JWT|SSWS|Splunk|GenieKey)"
    r"\s+(\S.*)$",
    re.I | re.S,
)
_SCHEME_WORD = re.compile(r"\s*[A-Za-z-]+\s")
_TOKENISH = re.compile(r"[A-Za-z0-9_\-+/=.]{20,}")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Za-z]")
_PIECES = re.compile(r"[^\s,;:&\"'()<>\[\]{}]+")

#: Variables an import may not name: clouds', CI systems', registries' and rtk-task's own.
_RESERVED = re.compile(
    r"^(?:AWS_|AMAZON_|GOOGLE_|GCP_|GCLOUD_|CLOUDSDK_|GOOGLE_CLOUD_|AZURE_|ARM_CLIENT_|"
    r"DIGITALOCEAN_|HCLOUD_|LINODE_|ALICLOUD_|ALIBABA_CLOUD_|OCI_|IBMCLOUD_|SCW_|"
    r"GITHUB_|GH_|GITLAB_|CI_JOB_|BITBUCKET_|NPM_|NODE_AUTH_|PYPI_|TWINE_|DOCKER_|"
    r"VAULT_|CF_|CLOUDFLARE_|KUBE|DATABASE_|PGPASS|MYSQL_PWD|SSH_|GPG_|RTK_)"
)


def _entropy(text: str) -> float:
    """Shannon entropy of ``text``, in bits per character."""
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def looks_secret(text: str) -> bool:
    """Whether one word of text looks like a generated credential (see the module's doc)."""
    if len(text) < 20 or not _TOKENISH.fullmatch(text):
        return False
    if not _DIGIT.search(text) or not _LETTER.search(text):
        return False
    return _entropy(text) >= 3.0


def scheme_of(value: str) -> str | None:
    """``Bearer`` for ``Bearer x`` (the scheme word as written), else ``None``."""
    found = _SCHEME.match(value)
    return found.group(1) if found else None


def _value_is_credential(value: str) -> bool:
    if len(value) < 20 and not _SCHEME_WORD.match(value):
        return False  # neither a scheme and a token nor long enough to be one
    if scheme_of(value) is not None:
        return True
    return looks_secret(value.strip()) or any(looks_secret(p) for p in _PIECES.findall(value))


def is_credential(name: str, value: str, where: str = "header") -> bool:
    """Whether ``name: value`` (a header, or a ``query`` or ``body`` field) holds a credential.

    ``value`` is the literal text only (what templates an importer translated are left out).
    """
    low = name.strip().lower()
    if where == "header":
        if low in _HEADERS or _HEADER_WORDS.search(low):
            return True
    elif low in _NAMES or _NAME_WORDS.search(low.replace("_", "").replace("-", "")):
        return True
    return _value_is_credential(value)


def name_is_credential(name: str, where: str = "header") -> bool:
    """Whether ``name`` alone says a credential (whatever its value)."""
    return is_credential(name, "", where)


def imported_env(env: str) -> str:
    """``env``, or ``IMPORTED_<env>`` when an imported step may not read it."""
    from ...providers import owner_of  # the registry of built-in providers

    if owner_of(env) is not None or _RESERVED.match(env.upper()):
        return IMPORTED_PREFIX + env
    return env


def redact(text: str) -> str:
    """``text`` with every word that looks like a credential replaced by ``<redacted>``."""

    def one(found: re.Match[str]) -> str:
        word = found.group(0)
        return "<redacted>" if looks_secret(word) else word

    text = _SCHEME.sub(lambda m: f"{m.group(1)} <redacted>", text) if _SCHEME.match(text) else text
    return _PIECES.sub(one, text)
