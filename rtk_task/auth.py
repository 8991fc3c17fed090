"""Credentials: the secrets of a task's :class:`~rtk_task.providers.model.Auth`, applied to a
request bound for one of the hosts they belong to.

A :class:`Credential` holds the values read from the variables the auth names, as
:class:`~pydantic.SecretStr`; they join a request only in :meth:`Credential.apply`, and only
when the request's host is one the credential may go to (:meth:`Credential.check_host`,
called when the request is built, so a refusal sends nothing). What is shown (results,
records, cURL) comes from :meth:`Credential.shown` and :meth:`Credential.curl`: masks and
``"$VAR"`` references, never values.

OAuth2 client credentials need a request of their own: :mod:`rtk_task.oauth2` sends it (only
the clients load it, with httpx).
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass
from urllib.parse import urlencode

from pydantic import SecretStr

from .errors import ConfigError, Problem
from .providers.model import SECRET_MARK, Auth, host_of

__all__ = ["Credential"]


@dataclass(frozen=True, slots=True)
class Credential:
    """The values of one auth's variables, and where they may be sent."""

    auth: Auth
    secret: SecretStr | None = None
    user: SecretStr | None = None
    #: Hosts the caller named itself (a ``--base-url``): the credential may go there too.
    extra_hosts: tuple[str, ...] = ()

    @property
    def values(self) -> tuple[str, ...]:
        """The secret values, for the redactor (never for display)."""
        return tuple(v.get_secret_value() for v in (self.secret, self.user) if v is not None)

    def check_host(self, url: str, servers: tuple[str, ...], task: str) -> None:
        """Refuse (a :class:`ConfigError`, nothing sent) a URL whose host the credential
        may not go to."""
        host = host_of(url)
        if host in self.extra_hosts or self.auth.allows(host, servers):
            return
        allowed = self.auth.hosts or tuple(host_of(s) for s in servers)
        raise ConfigError(
            Problem(
                f"{task}: auth",
                f"the credential ({self.auth.refs}) may be sent only to "
                f"{', '.join(allowed) or 'the servers of its manifest'}, not to {host!r}; "
                "nothing was sent",
                "a base URL you name yourself (--base-url) is trusted; a manifest's server "
                "must be one of the credential's hosts",
            )
        )

    def secret_value(self) -> str:
        """The secret (empty when none was read)."""
        return self.secret.get_secret_value() if self.secret is not None else ""

    def apply(
        self, headers: list[tuple[str, str]], query: list[tuple[str, str]]
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The headers and query with the credential in (OAuth2 adds its own, when sent)."""
        auth = self.auth
        if auth.type == "bearer":
            headers = [*headers, (auth.header, f"Bearer {self.secret_value()}")]
        elif auth.type == "basic":
            user = self.user.get_secret_value() if self.user is not None else ""
            pair = base64.b64encode(f"{user}:{self.secret_value()}".encode()).decode("ascii")
            headers = [*headers, ("Authorization", f"Basic {pair}")]
        elif auth.type == "header":
            headers = [*headers, (auth.header, SECRET_MARK.sub(self.secret_value(), auth.template))]
        elif auth.type == "api_key" and auth.location == "header":
            headers = [*headers, (auth.name, self.secret_value())]
        elif auth.type == "api_key" and auth.location == "query":
            query = [*query, (auth.name, self.secret_value())]
        elif auth.type == "api_key":
            cookie = f"{auth.name}={self.secret_value()}"
            found = next((i for i, (k, _) in enumerate(headers) if k.lower() == "cookie"), None)
            if found is None:
                headers = [*headers, ("Cookie", cookie)]
            else:
                headers = list(headers)
                headers[found] = (headers[found][0], f"{headers[found][1]}; {cookie}")
        return headers, query

    def shown(self) -> tuple[dict[str, str], dict[str, str]]:
        """What the credential adds, masked: ``(headers, query)``."""
        auth = self.auth
        if auth.type in ("bearer", "oauth2"):
            return {auth.header if auth.type == "bearer" else "Authorization": "Bearer ***"}, {}
        if auth.type == "basic":
            return {"Authorization": "Basic ***"}, {}
        if auth.type == "header":
            return {auth.header: SECRET_MARK.sub("***", auth.template)}, {}
        if auth.type == "api_key" and auth.location == "query":
            return {}, {auth.name: "***"}
        if auth.type == "api_key" and auth.location == "cookie":
            return {"Cookie": f"{auth.name}=***"}, {}
        if auth.type == "api_key":
            return {auth.name: "***"}, {}
        return {}, {}

    def curl(self) -> tuple[list[str], str]:
        """cURL arguments that read the credential from its variables, and a query suffix
        (``name="$VAR"``, to join the URL's query) for a key sent in the query."""
        auth = self.auth
        ref = f'"${auth.env}"' if auth.env else ""
        if auth.type == "bearer":
            return ["-H " + shlex.quote(f"{auth.header}: Bearer ") + ref], ""
        if auth.type == "basic":
            user = f'"${auth.username_env}"' if auth.username_env else ""
            return [f"-u {user}:{ref}"], ""
        if auth.type == "header":
            before, after = SECRET_MARK.split(auth.template, maxsplit=1)
            quoted = shlex.quote(f"{auth.header}: {before}") + ref
            return ["-H " + quoted + (shlex.quote(after) if after else "")], ""
        if auth.type == "api_key" and auth.location == "query":
            return [], shlex.quote(urlencode({auth.name: ""})) + ref
        if auth.type == "api_key" and auth.location == "cookie":
            return ["--cookie " + shlex.quote(f"{auth.name}=") + ref], ""
        if auth.type == "api_key":
            return ["-H " + shlex.quote(f"{auth.name}: ") + ref], ""
        if auth.type == "oauth2":
            note = f"# a token from {auth.token_url} (client ${auth.username_env})"
            return [f'-H "Authorization: Bearer $OAUTH_TOKEN"  {note}'], ""
        return [], ""
