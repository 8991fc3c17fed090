"""An ``http`` step whose URL's scheme and host are templated, held to the workflow's ``hosts:``.

A plain ``http`` step's scheme, host and port are literals of the workflow file, unless the
workflow lists the hosts its steps may call (``hosts: [api.example.com, 127.0.0.1:8080]``):
then a step's URL may start with a template (``"{{ inputs.base_url }}/v1/items"``,
``"https://{{ inputs.region }}.example.com/v1"``). :func:`split_origin` finds that part, the
*origin*: the text before the URL's path, which may also hold a path prefix once rendered
(``https://api.example.com/v2``). When the step is run, :func:`bind_origin` reads the
rendered origin and gives the manifest that sends to it, or refuses it before anything is
sent (a :class:`~rtk_task.errors.ConfigError`, as a credential sent to the wrong host is):

- it must be an ``http``/``https`` URL with a host, without ``user:password@``, a query or a
  fragment (query values go in ``query:``);
- its host must be one of ``hosts:`` (:func:`host_allowed`): an entry ``host`` allows that
  host on any port, ``host:port`` only that port; an empty list allows none;
- a credential of the step (``Authorization`` from a secret, Basic auth) is sent only to that
  host, which is in the list.

A rendered path prefix is percent-encoded as a literal path is (``%`` kept), then the step's
own path follows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import ConfigError, Problem
from .model import Manifest

__all__ = [
    "bind_origin",
    "check_host_entry",
    "host_allowed",
    "host_names",
    "servers_of",
    "split_origin",
]

#: One template span in a URL: ``{{ }}``, ``{% %}`` or ``{# #}``.
_SPAN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_SCHEME = re.compile(r"^https?://", re.I)
_STOP = re.compile(r"[/?#]")
#: ``host`` or ``host:port``: a DNS name, an IPv4 address or a bracketed IPv6 address.
_ENTRY = re.compile(
    r"^(?P<host>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?$"
)
#: A rendered path prefix is kept as written: these characters are not encoded again.
_PATH_SAFE = "/:!$&'()*+,;=-._~%"


def split_origin(url: str) -> tuple[str | None, str]:
    """``(origin, rest)`` when the URL's scheme or host part holds a template, else
    ``(None, url)``; ``rest`` is the path, query and fragment after it (``""`` if none)."""
    literal = _SCHEME.match(url)
    if literal is None and not url.startswith(("{{", "{%")):
        return None, url  # not a URL that starts with a scheme or a template
    end = _first_outside(url, literal.end() if literal else 0)
    if literal is None and end > 0 and url[end - 1 : end + 2] == "://":  # `{{ s }}://h/...`
        end = _first_outside(url, end + 2)
    origin = url[:end]
    if not _SPAN.search(origin):
        return None, url
    return origin, url[end:]


def _first_outside(url: str, start: int) -> int:
    """The index of the first ``/``, ``?`` or ``#`` at or after ``start`` that is outside
    every template span, or ``len(url)``."""
    at = start
    for span in _SPAN.finditer(url, start):
        found = _STOP.search(url, at, span.start())
        if found is not None:
            return found.start()
        at = span.end()
    found = _STOP.search(url, at)
    return found.start() if found is not None else len(url)


def check_host_entry(entry: Any) -> str | None:
    """Why ``entry`` is not a ``hosts:`` entry (``host`` or ``host:port``), or ``None``."""
    if not isinstance(entry, str) or not _ENTRY.match(entry.lower()):
        return (
            f"{entry!r} is not a host name, optionally with a port (api.example.com,"
            " 127.0.0.1:8080): no scheme, path or wildcard"
        )
    port = _ENTRY.match(entry.lower())
    if port is not None and port.group("port") and not 0 < int(port.group("port")) < 65536:
        return f"{entry!r} has no valid port"
    return None


def host_names(hosts: Iterable[str]) -> tuple[str, ...]:
    """The host names of ``hosts:`` entries (ports left out), each once, in order."""
    out: list[str] = []
    for entry in hosts:
        found = _ENTRY.match(entry.lower())
        name = found.group("host") if found else entry.lower()
        if name not in out:
            out.append(name)
    return tuple(out)


def servers_of(hosts: Iterable[str]) -> tuple[str, ...]:
    """Every server a step held to ``hosts:`` may call, as ``https://ENTRY`` (what a
    worker's host check and the load-time manifest list)."""
    return tuple(f"https://{entry}" for entry in hosts)


def host_allowed(host: str, port: int | None, hosts: Iterable[str]) -> bool:
    """Whether ``host`` (lower case; IPv6 without brackets) on ``port`` (``None``: the
    scheme's default) is one of ``hosts:``."""
    for entry in hosts:
        found = _ENTRY.match(entry.lower())
        if found is None:
            continue
        name = found.group("host").strip("[]")
        if name != host:
            continue
        if not found.group("port") or (port is not None and int(found.group("port")) == port):
            return True
    return False


def bind_origin(
    manifest: Manifest, rendered: Any, *, bare: bool, hosts: tuple[str, ...], step_id: str
) -> Manifest:
    """The manifest of a step whose URL's origin rendered to ``rendered``: its server that
    origin, its credential sent only to that host. Refused (nothing sent) unless it is an
    http(s) URL whose host is one of ``hosts``. ``bare``: the URL has no path of its own
    after the origin (the rendered path is the whole path)."""
    where = f"steps.{step_id}.with.url"
    hint = "the URL's scheme and host must render to http(s)://HOST[:PORT][/PATH]"
    if not isinstance(rendered, str):
        raise ConfigError(
            Problem(where, f"the URL's scheme and host render to {rendered!r}, not text", hint)
        )
    text = rendered.strip()
    try:
        split = urlsplit(text)
        port = split.port
    except ValueError:
        raise ConfigError(Problem(where, f"not an http(s) URL: {text[:200]!r}", hint)) from None
    if split.scheme.lower() not in ("http", "https") or not split.hostname:
        raise ConfigError(Problem(where, f"not an http(s) URL: {text[:200]!r}", hint))
    if split.username is not None or split.password is not None:
        raise ConfigError(
            Problem(where, "the URL renders with user:password@; nothing was sent", "use `auth:`")
        )
    if split.query or split.fragment:
        raise ConfigError(
            Problem(
                where,
                f"the URL's scheme and host render with a query or fragment: {text[:200]!r}",
                "give query values in `query:`",
            )
        )
    host = split.hostname.lower()
    if not host_allowed(host, port, hosts):
        listed = ", ".join(hosts) if hosts else "none listed"
        raise ConfigError(
            Problem(
                where,
                f"the URL's host {host!r} is not one of the workflow's hosts ({listed});"
                " nothing was sent",
                "add it to the workflow's `hosts:` if this step may call it",
            )
        )
    netloc = split.netloc.rsplit("@", 1)[-1]
    origin = f"{split.scheme.lower()}://{netloc}"
    prefix = quote(split.path, safe=_PATH_SAFE)
    if bare:
        path = "/" + prefix.lstrip("/")
    else:
        prefix = prefix.strip("/")
        path = (f"/{prefix}" if prefix else "") + manifest.path
    auth = manifest.auth
    if auth.type != "none":
        auth = auth.model_copy(update={"hosts": (host,)})  # only where this call goes
    return manifest.model_copy(
        update={
            "servers": (origin,),
            "path": path,
            "auth": auth,
            "summary": f"{manifest.method} {origin}{path}",
        }
    )
