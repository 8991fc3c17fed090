"""What is specific to one API, kept out of the generic pipeline.

One module per provider (:mod:`~rtk_task.providers.cloudflare` today), each a subclass of
:class:`~rtk_task.providers.base.Provider`. The generic modules ask :func:`provider_for` a
path's provider for vendor facts (path forms, task ids, idempotency, the success envelope)
instead of knowing them; a path no provider owns gets the plain :class:`Provider`, so any
API still builds. A second API is a second module here and one entry in :data:`PROVIDERS`.
"""

from __future__ import annotations

from .base import Provider
from .cloudflare import cloudflare_v4, realtimekit
from .model import Auth

__all__ = ["PROVIDERS", "Provider", "echoed_ids", "owner_of", "provider_for", "provider_named"]

#: Every vendor provider, asked in order.
PROVIDERS: tuple[Provider, ...] = (realtimekit, cloudflare_v4)
_PLAIN = Provider()


def provider_for(path: str) -> Provider:
    """The provider that owns ``path``, or the plain one. (Whether its credential may go to
    a manifest's servers is the manifest's own check: a page of another API whose paths look
    like the vendor's gets the vendor's names, not its token.)"""
    return next((p for p in PROVIDERS if p.owns(path)), _PLAIN)


def provider_named(name: str) -> Provider:
    """The built-in provider called ``name``, or the plain one."""
    return next((p for p in PROVIDERS if p.name == name), _PLAIN)


def echoed_ids() -> frozenset[str]:
    """Output names that look like ids but echo the caller's own (any provider's)."""
    return frozenset().union(*(p.echoed_ids for p in PROVIDERS))


def owner_of(env: str) -> Auth | None:
    """The auth of the built-in provider whose credential ``env`` is (``None``: no one's)."""
    return next((p.auth for p in PROVIDERS if env in p.auth.variables), None)
