"""A task described for a person: its resource, request, parameters as a tree, outputs."""

from __future__ import annotations

import json

from ..manifests.model import Location, Manifest, Param, ParamType
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
    lines.append(f"  auth: {m.auth.describe()}")
    if m.content_types:
        lines.append(f"  body as: {', '.join(m.content_types)}")
    if m.paging is not None:
        how = f"{m.paging.style}" + (f" ({m.paging.param})" if m.paging.param else "")
        lines.append(f"  pages by: {how}")
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
        lines.append("outputs:")
        lines += [f"  {o.name} <- {o.path}" for o in m.outputs]
    return "\n".join(lines)


def _param_lines(p: Param, depth: int) -> list[str]:
    kind = f"array of {_kind(p.items)}" if p.items is not None else _kind(p)
    facts = [kind + (" | null" if p.nullable else "")]
    if p.items is not None and p.items.enum:
        facts.append("items one of " + ", ".join(json.dumps(v) for v in p.items.enum))
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
    for word, variants in (("one of", p.one_of), ("any of", p.any_of)):
        for variant in variants:
            out.extend(_param_lines(variant.model_copy(update={"name": f"| {word}"}), depth + 1))
    if isinstance(p.additional, Param):
        out.extend(_param_lines(p.additional.model_copy(update={"name": "<any key>"}), depth + 1))
    return out


def _kind(p: Param) -> str:
    """A parameter's type in words (a file, a map)."""
    if p.is_file:
        return "file (a path)"
    if p.type is ParamType.OBJECT and p.additional is not None and not p.children:
        return "map"
    return p.type.value
