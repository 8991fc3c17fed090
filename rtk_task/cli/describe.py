"""A task described for a person: its resource, request, parameters as a tree, outputs."""

from __future__ import annotations

import json

from ..manifests.model import Location, Manifest, Param
from ..paginate import paging_of
from ..providers import provider_for

__all__ = ["describe"]


def describe(m: Manifest) -> str:
    """Plain text, one parameter a line, nested by indentation."""
    lines = [
        f"{m.id}: {m.summary}".rstrip(": "),
        f"  resource: {provider_for(m.path).resource(m.id)}",
    ]
    lines.append(f"  {m.method} {m.path}")
    lines += [f"  {m.method} {alt}  (alternate)" for alt in m.alternate_paths]
    if m.servers:
        lines.append(f"  servers: {', '.join(m.servers)}")
    lines.append(f"  auth: {m.auth.header}: Bearer ${m.auth.env}")
    lines.append(
        f"  success: {', '.join(map(str, m.success_status))}; "
        + (
            "idempotent"
            if m.idempotent
            else "not idempotent: not resent after an ambiguous failure"
        )
    )
    for loc in Location:
        params = m.parameters.at(loc)
        if params:
            lines.append(f"{loc.value} parameters:" if loc is not Location.HEADER else "headers:")
            for p in params:
                lines.extend(_param_lines(p, 1))
    if m.outputs:
        lines.append("outputs:" + ("  (pages: items, total_count)" if paging_of(m) else ""))
        lines += [f"  {o.name} <- {o.path}" for o in m.outputs]
    return "\n".join(lines)


def _param_lines(p: Param, depth: int) -> list[str]:
    kind = f"array of {p.items.type.value}" if p.items is not None else p.type.value
    facts = [kind + (" | null" if p.nullable else "")]
    if p.required:
        facts.append("required")
    if p.default is not None:
        facts.append(f"default {json.dumps(p.default)}")
    if p.enum:
        facts.append("one of " + ", ".join(json.dumps(v) for v in p.enum))
    if p.minimum is not None or p.maximum is not None:
        facts.append(
            f"range {p.minimum if p.minimum is not None else ''}.."
            f"{p.maximum if p.maximum is not None else ''}"
        )
    if p.format:
        facts.append(f"format {p.format}")
    line = f"{'  ' * depth}{p.name}  ({'; '.join(facts)})"
    if p.description:
        line += f"  {p.description}"
    out = [line]
    for child in (*p.children, *(p.items.children if p.items else ())):
        out.extend(_param_lines(child, depth + 1))
    return out
