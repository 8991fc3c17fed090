"""The parts of an imported request as a step's values, every credential a declared secret.

:class:`Builder` collects what one step needs declared: :meth:`Builder.value` makes a value
a workflow input (a literal as its default, a ``$VAR`` as an input without one) and
:meth:`Builder.secret` makes a credential ``{{ secrets.NAME }}``, read from an environment
variable (``$VAR`` when the request named one, else one named after the host). A secret is
read from a variable a manifest's auth may read: a token's ends in ``_TOKEN``, ``_KEY``,
``_SECRET`` or ``_PASSWORD`` (:func:`token_env`), a Basic user name's may also end in
``_USER``, ``_USERNAME``, ``_ID``, ``_LOGIN`` or ``_ACCOUNT``.

- :func:`headers`: every header is kept as given (``Accept``, ``User-Agent``, and for a plain
  ``http`` step ``Content-Type``, which picks the body's encoding), but those the HTTP client
  frames itself (``Host``, ``Connection``...: a note says so; ``Content-Length`` is computed
  again) and ``Proxy-Authorization`` (a note). ``Authorization`` keeps its scheme, whatever
  it is (``Token {{ secrets.NAME }}``); any other header named or valued like a credential
  (:mod:`.credentials`) becomes a secret.
- :func:`basic`: ``user:password`` (``curl -u``, a URL's user information) as an ``http``
  step's ``auth: {basic: {user, password}}``, from two declared secrets.
- :func:`query` and :func:`body`: a credential's value (by name, and for a query parameter
  by value) becomes a secret; a form body kept as text has each credential field's value
  replaced in the text (:func:`form_text`).
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import unquote_plus

from ...manifests.model import TOKEN_ENV_SUFFIXES
from ...providers.model import CREDENTIAL_ENV_SUFFIXES, USER_ENV_SUFFIXES
from .credentials import imported_env, is_credential, name_is_credential, scheme_of
from .model import ImportedStep, Request
from .text import TEMPLATE, has_template, unescape_deep

__all__ = [
    "Builder",
    "basic",
    "body",
    "env_name",
    "form_text",
    "headers",
    "query",
    "secret_name",
    "token_env",
]

SHELL_VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_ANY_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_STEP_REF = re.compile(r"\{\{ steps\.[A-Za-z_]\w*\.outputs\.[A-Za-z_]\w* \}\}")
_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}
#: ``Scheme credentials``: an Authorization value's scheme (RFC 9110 token characters).
_AUTH_SCHEME = re.compile(r"^\s*([!#%&'*+.^_`|~0-9A-Za-z-]+)\s+(\S.*)$", re.S)
#: Headers the HTTP client frames itself; ``Content-Length`` is computed (the same value).
_FRAMING = frozenset({"host", "transfer-encoding", "connection", "expect", "te", "upgrade"})
_SUFFIXES = sorted(USER_ENV_SUFFIXES, key=len, reverse=True)

#: What a secret's variable holds: a token, a Basic user name or a Basic password.
SecretKind = Literal["token", "user", "password"]


def secret_name(text: str) -> str:
    """``text`` as a secret's name (lower case, ``_`` for anything else)."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "secret"
    return f"http_{name}" if name[0].isdigit() else name


def env_name(text: str, token: bool = True) -> str:
    """``text`` as an environment variable's name (a token's, unless ``token`` is false)."""
    name = re.sub(r"[^A-Z0-9_]+", "_", text.upper()).strip("_") or "SECRET"
    name = name if not name[0].isdigit() else f"HTTP_{name}"
    return token_env(name) if token else name


def token_env(name: str) -> str:
    """``name`` as a token variable's name (a manifest's auth reads only those): ``_TOKEN``
    added unless it ends in one of :data:`~rtk_task.manifests.model.TOKEN_ENV_SUFFIXES`."""
    return name if name.endswith(TOKEN_ENV_SUFFIXES) else f"{name}_TOKEN"


def _kind_env(name: str, kind: SecretKind) -> str:
    """``name`` as a variable a secret of ``kind`` may be read from."""
    if kind == "user":
        return name if name.upper().endswith(USER_ENV_SUFFIXES) else f"{name}_USER"
    if kind == "password":
        return name if name.upper().endswith(CREDENTIAL_ENV_SUFFIXES) else f"{name}_PASSWORD"
    return token_env(name)


def _numbered(env: str, n: int) -> str:
    """``HOST_X_TOKEN`` as ``HOST_X_2_TOKEN``: another variable, its suffix kept."""
    for suffix in _SUFFIXES:
        if env.endswith(f"_{suffix}"):
            return f"{env[: -len(suffix)]}{n}_{suffix}"
    return f"{env}_{n}"


def _literal_part(value: str) -> str:
    """The literal text of a template (every template, escapes included, left out)."""
    return TEMPLATE.sub(" ", value)


def refs_only(value: str) -> bool:
    """Whether ``value`` holds references to earlier steps and no literal credential."""
    if not _STEP_REF.search(value):
        return False
    rest = _STEP_REF.sub(" ", value)
    scheme = scheme_of(rest)
    if scheme is not None:
        rest = rest.strip()[len(scheme) :]
    return not rest.strip()


class Builder:
    """Collects the inputs and secrets of one imported step."""

    def __init__(self, step_id: str) -> None:
        self.step_id = step_id
        self.out = ImportedStep({})
        #: variables read for a literal value here -> its secret (two values, two variables)
        self.defaults: dict[str, str] = {}

    def note(self, text: str) -> None:
        """A note about this step."""
        self.out.notes.append(f"{self.step_id}: {text}")

    def value(self, name: str, value: Any, kind: str | None = None) -> Any:
        """``value`` as ``{{ inputs.NAME }}`` with the input declared (a template stays)."""
        if has_template(value):
            return value
        value = unescape_deep(value)  # an input's default is data, never rendered
        spec: dict[str, Any] = {}
        var = SHELL_VAR.match(value) if isinstance(value, str) else None
        if var:
            spec = {"type": kind or "string", "description": f"${var.group(1)} in the request"}
        else:
            spec = {"type": kind or _TYPES.get(type(value), "array"), "default": value}
        key = re.sub(r"[^A-Za-z0-9_]", "_", name) or "value"
        self.out.inputs[key] = spec
        return f"{{{{ inputs.{key} }}}}"

    def secret(self, name: str, value: str, default_env: str, kind: SecretKind = "token") -> str:
        """``{{ secrets.NAME }}`` for a credential; its variable from ``$VAR`` if it was one."""
        var = _ANY_VAR.search(value)
        # a manifest's auth reads only token-like variables: ``$HOOKS`` is read as HOOKS_TOKEN
        env = _kind_env(var.group(1), kind) if var else default_env
        if var is None:  # a literal credential: a variable of its own
            n = 2
            while env in self.out.secrets.values() and self.defaults.get(env) != value:
                env, n = _numbered(default_env, n), n + 1
            self.defaults[env] = value
        safe = imported_env(env)
        if safe != env:
            self.note(
                f"the source names ${env}, which an imported step may not read"
                f" (another service's or a cloud's credential): it reads ${safe} instead"
            )
            env = safe
        for known, known_env in self.out.secrets.items():
            if known_env == env:
                return f"{{{{ secrets.{known} }}}}"
        secret = base = secret_name(name)
        n = 2
        while secret in self.out.secrets:
            secret, n = f"{base}_{n}", n + 1
        self.out.secrets[secret] = env
        self.out.notes.append(f"set {env}: the credential of {self.step_id} is read from it")
        return f"{{{{ secrets.{secret} }}}}"


def basic(b: Builder, request: Request, host: str) -> dict[str, str] | None:
    """``user:password`` (the URL's or ``-u``) as ``{user, password}`` secrets, never
    written; ``None`` when the request has none."""
    if request.user is None:
        return None
    user, password = request.user
    out: dict[str, str] = {}
    if user:
        out["user"] = b.secret(
            f"{host}_username", user, env_name(f"{host}_USERNAME", False), "user"
        )
    if password:
        out["password"] = b.secret(
            f"{host}_password", password, env_name(f"{host}_PASSWORD", False), "password"
        )
    elif password is None:
        b.note(
            "curl asks for the password of a user given without one: the step sends the"
            " user name and an empty password (give `-u USER:PASSWORD` to import both)"
        )
    if not out:
        b.note("an empty user and password (Basic auth) are not sent")
        return None
    return out


def headers(
    b: Builder, request: Request, host: str, own: frozenset[str] = frozenset(), *, typed: bool
) -> tuple[dict[str, Any], bool]:
    """The headers to send (credentials as secrets), and whether the task's own credential
    header was among them (``own``: its names, lower case). A ``typed`` task's body type
    is its own: the request's ``Content-Type`` is left out."""
    out: dict[str, Any] = {}
    owned = False
    for name, value in request.headers.items():
        low = name.lower()
        if low == "content-length" or (typed and low == "content-type"):
            continue
        if low in _FRAMING:
            b.note(f"the {name} header is set by the HTTP client; it is not kept")
            continue
        if low in own:
            owned = True
            continue
        text = str(value)
        if low == "proxy-authorization":
            b.note(f"{name} is not imported: a step sends no proxy credential")
            continue
        if low == "authorization":
            if refs_only(text):
                b.note(
                    f"{name} is read from another step; an Authorization header is a declared"
                    ' secret: set it as "Bearer {{ secrets.NAME }}" by hand'
                )
                continue
            # any scheme is kept: `Token x` -> `Token {{ secrets.NAME }}`
            found = _AUTH_SCHEME.match(text)
            scheme, rest = (found.group(1), found.group(2)) if found else (None, text)
            if scheme is not None and scheme.startswith("$"):
                scheme, rest = None, text  # `$VAR words`: no scheme
            secret = b.secret(f"{host}_token", rest, env_name(f"{host}_token"))
            out[name] = f"{scheme} {secret}" if scheme else secret
            continue
        plain = _literal_part(text)
        named = name_is_credential(name)
        if (named and not refs_only(text)) or (not named and is_credential(name, plain)):
            secret = b.secret(f"{host}_{name}", text, env_name(f"{host}_{name}"))
            scheme = scheme_of(plain)
            out[name] = f"{scheme} {secret}" if scheme else secret
        else:
            out[name] = value
    return out, owned


def query(
    b: Builder, request: Request, host: str, known: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The query, each credential a secret (``known``: the task's parameters, whose values
    are only judged by their names); a repeated name keeps its list of values."""

    def one(name: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        named = name_is_credential(name, "query")
        plain = _literal_part(value)
        guess = name not in known and is_credential(name, plain, "query")
        if (named and not refs_only(value)) or (not named and guess):
            return b.secret(f"{host}_{name}", value, env_name(f"{host}_{name}"))
        return value

    return {
        name: [one(name, v) for v in value] if isinstance(value, list) else one(name, value)
        for name, value in request.query.items()
    }


def body(b: Builder, value: Any, host: str) -> Any:
    """``value`` with each field named like a credential a secret, at any depth."""
    if isinstance(value, list):
        return [body(b, v, host) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, sub in value.items():
        credential = isinstance(sub, str) and name_is_credential(str(name), "body")
        if credential and not refs_only(sub):
            sub = b.secret(f"{host}_{name}", sub, env_name(f"{host}_{name}"))
        out[name] = body(b, sub, host)
    return out


def form_text(b: Builder, text: str, host: str) -> str:
    """A form body kept as its text, each field named like a credential given by a secret
    (its variable holds the value as the text had it, still encoded)."""
    pieces = []
    for piece in text.split("&"):
        key, eq, value = piece.partition("=")
        name = unquote_plus(key)
        if eq and name_is_credential(name, "body") and not refs_only(value):
            piece = f"{key}={b.secret(f'{host}_{name}', value, env_name(f'{host}_{name}'))}"
        pieces.append(piece)
    return "&".join(pieces)
