"""Where a workflow's secrets are read from: the environment, files, Prefect blocks, the OS
keyring.

A workflow's ``secrets:`` maps each name to a *source*, written as::

    secrets:
      token: STATUS_TOKEN                      # an environment variable (or STATUS_TOKEN_FILE)
      db: {file: /run/secrets/db_password}     # a file (a mounted container secret)
      hook: {prefect_block: status-hook}       # a Prefect Secret block (Prefect installed)
      key: {keyring: status-api/ops}           # the OS keyring: service/name (keyring installed)

and kept as one text each (``STATUS_TOKEN``, ``file:/run/secrets/db_password``,
``prefect_block:status-hook``, ``keyring:status-api/ops``), the form a worker's
``--allow-secret`` names too. :func:`read_secret` reads one when a step needs it: trailing
CR/LF stripped (a file saved with Windows line ends), a file at most :data:`MAX_FILE_BYTES`; a
variable ``NAME`` that is unset falls back to the file ``NAME_FILE`` names (the Docker and
Kubernetes convention). A source that cannot be read is ``None`` (the run says which secret is
missing and how to set it); what each source holds is masked like every other secret.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator

from .secrets import read_env

__all__ = [
    "MAX_FILE_BYTES",
    "SOURCE_KINDS",
    "SecretSource",
    "describe",
    "how_to_set",
    "is_variable",
    "normalise_source",
    "read_secret",
]

#: The largest secret file read (64 KiB): a secret, not a document.
MAX_FILE_BYTES = 64 * 1024
#: Source kinds other than an environment variable, as written under ``secrets:``.
SOURCE_KINDS = ("file", "prefect_block", "keyring")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def normalise_source(value: Any) -> str:
    """A source as written (a variable's name, or ``{kind: where}``) as its one text; a
    ``ValueError`` saying what is allowed otherwise."""
    if isinstance(value, str):
        kind, sep, where = value.partition(":")
        if sep and kind in SOURCE_KINDS and where:
            return value
        if _ENV_NAME.match(value):
            return value
        raise ValueError(
            f"{value!r} is not an environment variable's name (letters, digits, _), nor "
            f"{{file: PATH}}, {{prefect_block: NAME}} or {{keyring: SERVICE/NAME}}"
        )
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, where),) = value.items()
        if kind in SOURCE_KINDS and isinstance(where, str) and where.strip():
            if kind == "keyring" and "/" not in where:
                raise ValueError("a keyring source is SERVICE/NAME")
            return f"{kind}:{where.strip()}"
    raise ValueError(
        "a secret comes from an environment variable (NAME), {file: PATH}, "
        "{prefect_block: NAME} or {keyring: SERVICE/NAME}"
    )


#: Where one secret comes from, as a workflow file's ``secrets:`` value (kept as one text).
SecretSource = Annotated[str, BeforeValidator(normalise_source)]


def _kind(source: str) -> tuple[str, str]:
    """``(kind, where)`` of a source's text; ``("", NAME)`` for an environment variable."""
    kind, sep, where = source.partition(":")
    return (kind, where) if sep and kind in SOURCE_KINDS else ("", source)


def is_variable(source: str) -> bool:
    """Whether ``source`` is an environment variable (reading it is no I/O)."""
    return not _kind(source)[0]


def describe(source: str) -> str:
    """The source as a message names it: ``environment variable X``, ``the file P``..."""
    kind, where = _kind(source)
    names = {"file": "the file", "prefect_block": "the Prefect block", "keyring": "keyring"}
    return f"{names[kind]} {where}" if kind else f"environment variable {where}"


def read_secret(source: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of one source (see the module docstring); ``None`` when it has none."""
    kind, where = _kind(source)
    if not kind:
        value = read_env(source, environ)
        if value is not None:
            return value
        path = read_env(f"{source}_FILE", environ)
        return _read_file(path) if path else None
    if kind == "file":
        return _read_file(where)
    if kind == "prefect_block":
        return _prefect_block(where)
    return _keyring(where)


def how_to_set(source: str) -> str:
    """The hint for a source that has no value."""
    kind, where = _kind(source)
    if not kind:
        return f"export {source}=... (or {source}_FILE=/path/to/a/file)"
    if kind == "file":
        return f"make {where} a readable file holding the secret"
    if kind == "prefect_block":
        return f"create the Prefect Secret block {where!r} (Prefect installed, its API reachable)"
    return f"store it with `keyring set {where.replace('/', ' ', 1)}` (keyring installed)"


def _read_file(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return None


#: Prefect blocks read in the last :data:`BLOCK_SECONDS`: name -> (when read, value).
_BLOCKS: dict[str, tuple[float, str | None]] = {}
#: How long a Prefect block's value is reused before it is read again.
BLOCK_SECONDS = 60.0


def _prefect_block(name: str) -> str | None:
    now = time.monotonic()
    known = _BLOCKS.get(name)
    if known is not None and now - known[0] < BLOCK_SECONDS:
        return known[1]
    # read in a thread of its own: Prefect's sync API refuses to run inside an event loop,
    # and a step's credential is read where its client runs (an engine's loop)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        value = pool.submit(_load_block, name).result()
    _BLOCKS[name] = (now, value)
    return value


def _load_block(name: str) -> str | None:
    try:
        from prefect.blocks.system import Secret
    except ImportError:
        return None
    try:
        block: Any = Secret.load(name)
        value = block.get()
    except Exception:  # a missing block, an unreachable API: the run reports it unset
        return None
    return value if isinstance(value, str) else None


def _keyring(where: str) -> str | None:
    try:
        import keyring  # type: ignore[import-not-found]
    except ImportError:
        return None
    service, _, name = where.partition("/")
    try:
        value = keyring.get_password(service, name)
    except Exception:  # no backend: the run reports it unset
        return None
    return value if isinstance(value, str) else None
