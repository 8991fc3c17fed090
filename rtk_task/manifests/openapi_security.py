"""OpenAPI ``securitySchemes`` and ``security`` -> the :class:`Auth` an operation uses.

:class:`SecuritySchemes` reads one document's schemes: a scheme it cannot express is
``None``, never an error (a ``security`` list of the wrong shape is an :class:`OpenAPIError`
naming the operation). Guarantees:

- **One credential per operation**: the operation's ``security`` (else the document's), as
  one :class:`Auth`: the first alternative whose schemes can all be expressed (one that needs
  two schemes at once gives its first, and says so in ``note``); ``security: []`` means none,
  and an empty alternative says in ``note`` that calling with no credential is allowed.
- **Each scheme maps to its own kind**: HTTP bearer, basic and other token schemes (not the
  challenge-response ones, such as digest), API keys in a header, the query or a cookie, and
  OAuth2 client credentials (its ``tokenUrl`` made absolute against the servers); other
  OAuth2 flows and OpenID Connect become a bearer token the user supplies.
- **Variables** are ``<PREFIX>_TOKEN``, ``<PREFIX>_API_KEY``,
  ``<PREFIX>_USERNAME``/``_PASSWORD``, ``<PREFIX>_CLIENT_ID``/``_CLIENT_SECRET``,
  ``<PREFIX>_ACCESS_TOKEN``, PREFIX the document's ``env_prefix`` (its name in upper case);
  two schemes of one kind add the scheme's name (``ACME_ADMIN_TOKEN``).
- **Hosts**: the credential is bound to the hosts of the operation's servers when every one
  is an absolute URL (:func:`credential_hosts`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from pydantic import ValidationError

from ..errors import OpenAPIError, Problem
from ..providers.model import host_of
from .model import Auth
from .openapi_schemas import SPEC_HINT, Schemas

__all__ = ["SecuritySchemes", "credential_hosts"]


#: HTTP auth schemes that need a challenge and an answer: no static header expresses them.
_CHALLENGES = frozenset(
    {"digest", "negotiate", "ntlm", "hoba", "mutual", "vapid", "scram-sha-1", "scram-sha-256"}
)
_HOST = re.compile(r"^[a-z0-9.\-]+$|^\[[0-9a-f:.]+\]$")


def credential_hosts(servers: tuple[str, ...]) -> tuple[str, ...]:
    """The hosts a credential is bound to: those of the servers when every one is an absolute
    URL (empty: the manifest's servers')."""
    hosts = [host_of(s) for s in servers]
    if not hosts or not all(h and _HOST.match(h) for h in hosts):
        return ()
    return tuple(dict.fromkeys(hosts))


class SecuritySchemes:
    """The security schemes of one document, each read as an :class:`Auth`.

    ``env_prefix`` starts every variable; ``schemas`` resolves a scheme given as a ``$ref``.
    """

    def __init__(self, data: dict[str, Any], file: str, env_prefix: str, schemas: Schemas) -> None:
        self.data = data
        self.file = file
        self.env_prefix = env_prefix
        self._schemas = schemas
        self._bases: dict[str, str] | None = None

    def operation_auth(
        self, op: dict[str, Any], servers: tuple[str, ...], where: str
    ) -> Auth | None:
        """The credential an operation uses, as an :class:`Auth` (``None``: none usable)."""
        requirements = op["security"] if "security" in op else self.data.get("security")
        if requirements is None:
            return None
        if not isinstance(requirements, list) or not all(isinstance(r, dict) for r in requirements):
            raise OpenAPIError(
                Problem(f"{where} security", "`security` must be a list of objects", SPEC_HINT)
            )
        if not requirements:
            return Auth(note="the document says this operation needs no credential")
        optional = any(not r for r in requirements)
        for requirement in requirements:
            if not requirement:
                continue
            auths = [
                self.scheme_auth(name, scopes, servers) for name, scopes in requirement.items()
            ]
            first = auths[0]
            if first is None or any(a is None for a in auths):
                continue
            notes = [first.note]
            if len(auths) > 1:
                others = ", ".join(repr(n) for n in list(requirement)[1:])
                notes.append(f"the document also asks for {others} at once; it is not sent")
            if optional:
                notes.append("the document also allows calling with no credential")
            return first.model_copy(update={"note": "; ".join(notes)})
        if optional:
            return Auth(note="the document allows calling this operation with no credential")
        return None

    def scheme_auth(
        self, name: str, scopes: Any = (), servers: tuple[str, ...] = ()
    ) -> Auth | None:
        """The security scheme ``name`` as an :class:`Auth` (``None``: not expressible)."""
        schemes = (self.data.get("components") or {}).get("securitySchemes") or {}
        if not isinstance(schemes, dict) or name not in schemes:
            return None
        scheme = self._schemas.resolve(schemes[name], f"{self.file}: securitySchemes {name}")
        base = self._variable_bases(schemes)[name]
        kind = scheme.get("type")
        hosts = credential_hosts(servers)
        note = f"from the document's security scheme {name!r}"
        fields: dict[str, Any] = {}
        if kind == "http":
            http = str(scheme.get("scheme") or "").lower()
            if http == "bearer":
                fields = {"type": "bearer", "env": f"{base}_TOKEN"}
            elif http == "basic":
                fields = {
                    "type": "basic",
                    "username_env": f"{base}_USERNAME",
                    "env": f"{base}_PASSWORD",
                }
            elif http and http not in _CHALLENGES:
                template = f"{scheme['scheme']} {{{{ secret }}}}"
                fields = {"type": "header", "env": f"{base}_TOKEN", "template": template}
        elif kind == "apiKey" and scheme.get("in") in ("header", "query", "cookie"):
            fields = {
                "type": "api_key",
                "env": f"{base}_API_KEY",
                "name": str(scheme.get("name") or ""),
                "location": scheme["in"],
            }
        elif kind == "oauth2":
            flows: dict[str, Any] = scheme["flows"] if isinstance(scheme.get("flows"), dict) else {}
            client = flows.get("clientCredentials")
            token_url = client.get("tokenUrl") if isinstance(client, dict) else None
            if isinstance(token_url, str) and token_url:
                absolute = next((s for s in servers if host_of(s)), "")
                token_url = urljoin(absolute, token_url) if absolute else token_url
            if isinstance(token_url, str) and token_url.startswith(("https://", "http://")):
                fields = {
                    "type": "oauth2",
                    "username_env": f"{base}_CLIENT_ID",
                    "env": f"{base}_CLIENT_SECRET",
                    "token_url": token_url,
                    "scopes": tuple(str(s) for s in scopes or ()),
                }
            else:
                env = f"{base}_ACCESS_TOKEN"
                kinds = ", ".join(map(str, flows)) or "no flow"
                note += (
                    f" (OAuth2, {kinds}): rtk-task does not run this flow; give an access "
                    f"token in ${env}"
                )
                fields = {"type": "bearer", "env": env}
        elif kind == "openIdConnect":
            env = f"{base}_ACCESS_TOKEN"
            note += f" (OpenID Connect): rtk-task does not sign in; give an access token in ${env}"
            fields = {"type": "bearer", "env": env}
        if not fields:
            return None
        try:
            return Auth(**fields, hosts=hosts, note=note)
        except ValidationError:
            return None  # a header it cannot carry, an empty key name...

    def _variable_bases(self, schemes: dict[str, Any]) -> dict[str, str]:
        """``<PREFIX>`` for each scheme, or ``<PREFIX>_<SCHEME>`` where two schemes would
        otherwise read the same variable."""
        if self._bases is None:
            kinds: dict[str, str] = {}
            for name, scheme in schemes.items():
                s = scheme if isinstance(scheme, dict) else {}
                kinds[name] = f"{s.get('type')}/{str(s.get('scheme', '')).lower()}"
                if s.get("type") == "oauth2":
                    flows = s["flows"] if isinstance(s.get("flows"), dict) else {}
                    kinds[name] += "/cc" if "clientCredentials" in flows else ""
                if s.get("type") == "openIdConnect":
                    kinds[name] = "oauth2/"
            counts = {k: list(kinds.values()).count(k) for k in kinds.values()}
            self._bases = {}
            for name, kind in kinds.items():
                base = self.env_prefix
                if counts[kind] > 1:
                    words = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(name)).upper()
                    words = re.sub(r"[^A-Z0-9]+", "_", words).strip("_")
                    words = re.sub(r"(_?(API|KEY|TOKEN|AUTH))+$", "", words) or "SCHEME"
                    base = f"{base}_{words}"
                self._bases[name] = base
        return self._bases
