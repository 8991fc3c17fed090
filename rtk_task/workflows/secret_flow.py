"""Where a secret may go: into the request, whole, and nowhere else.

Masking (:class:`rtk_task.secrets.Redactor`) finds a secret's value, and a few encodings of
it, in what is shown: a secret transformed by a template (``secrets.k|reverse``,
``secrets.k[1:]``, ``secrets.k|urlencode``, ``secrets.k|tojson``) would reach the
playground preview, outputs, records and cURL text unmasked. So :func:`secret_findings`
(run by :func:`rtk_task.workflows.check.check_workflow`, hence by ``run``, ``test`` and the
playground too) lets a secret flow only into a step's ``with:`` values (path, query, headers,
body), either as a whole value (``{{ secrets.k }}``) or inside text (``Bearer
{{ secrets.k }}``, ``{{ 'Token ' ~ secrets.k }}``), or as a value of a literal list or dict.

Each ``secrets.NAME`` (or ``secrets['NAME']``) is accepted only when every node between it
and the template's body is one of: an output (``{{ }}``), a concatenation (``~``, ``+``), a
branch of ``a if c else b`` (not its test), an item of a list or tuple literal, a value of a
dict literal, or the body of an ``{% if %}``, a non-recursive ``{% for %}`` or a
``{% with %}``. Everything else is an error naming the field and the secret: a filter on it
or taking it as an argument, a subscript, slice, attribute or method of it, a test, a
comparison, other arithmetic, a call, ``{% set %}``, a ``{% for %}`` over it, an ``{% if %}``
condition, a macro, call, filter or autoescape block around it. Any use of ``secrets`` in a
step's ``outputs``, ``when``, ``until`` and ``for_each`` and in the workflow's ``outputs`` is
an error, and so is ``secrets`` read as a whole or with a computed key, anywhere.

:func:`short_secret_warnings` warns, given the secrets' values, about a value too short to
be masked reliably. Each template text is parsed at most once per process (a bounded cache),
and a text that does not mention ``secrets`` is not parsed at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from jinja2 import TemplateSyntaxError, nodes

from ..secrets import SHORT_SECRET
from .references import Finding
from .render import leaves
from .sandbox import environment

if TYPE_CHECKING:
    from .model import Workflow

__all__ = ["SHORT_SECRET", "SecretUse", "secret_findings", "secret_uses", "short_secret_warnings"]

_NAME = "secrets"
_HINT_WITH = (
    "use it only whole, in a step's `with:` (path, query, header, body): "
    '"{{{{ secrets.{0} }}}}" or "Bearer {{{{ secrets.{0} }}}}"; transformed, it escapes masking'
)
_HINT_ELSEWHERE = (
    "secrets go only into a step's `with:` (the request), never into outputs or conditions"
)

#: (node type, field) a secret may sit in: its value reaches the text or value unchanged.
_PASSES: frozenset[tuple[type[nodes.Node], str]] = frozenset(
    {
        (nodes.Template, "body"),
        (nodes.Output, "nodes"),
        (nodes.If, "body"),
        (nodes.If, "elif"),
        (nodes.If, "else_"),
        (nodes.For, "body"),  # unless recursive: see _passes
        (nodes.For, "else_"),
        (nodes.With, "body"),
        (nodes.Concat, "nodes"),
        (nodes.Add, "left"),
        (nodes.Add, "right"),
        (nodes.CondExpr, "expr1"),
        (nodes.CondExpr, "expr2"),
        (nodes.List, "items"),
        (nodes.Tuple, "items"),
        (nodes.Dict, "items"),
        (nodes.Pair, "value"),
    }
)

#: What a statement around a secret does to it, for messages.
_BLOCKS: dict[type[nodes.Node], str] = {
    nodes.Macro: "is inside a {% macro %}, whose output can be transformed",
    nodes.CallBlock: "is inside a {% call %} block, whose output can be transformed",
    nodes.FilterBlock: "is inside a {% filter %} block",
    nodes.AssignBlock: "is captured by a {% set %} block (an alias hides it)",
    nodes.Assign: "is assigned by {% set %} (an alias hides it)",
    nodes.Block: "is inside a {% block %}, whose output can be transformed",
    nodes.ScopedEvalContextModifier: "is inside an {% autoescape %} block (escaped)",
    nodes.EvalContextModifier: "is inside an {% autoescape %} block (escaped)",
    nodes.Scope: "is inside a scoped block",
    nodes.Test: "is tested",
    nodes.Compare: "is compared",
    nodes.Operand: "is compared",
    nodes.Not: "is tested (`not`)",
    nodes.Call: "is passed to a call",
    nodes.Keyword: "is passed to a call",
    nodes.Slice: "is used in a slice",
}


class SecretUse(NamedTuple):
    """One refused use of ``secrets`` in a template: which secret (``None``: not one named
    secret) and what is wrong."""

    name: str | None
    problem: str


def secret_uses(text: str) -> tuple[SecretUse, ...]:
    """The uses of ``secrets`` in a template text that a request value may not have (each
    once, in order): everything but a whole secret flowing into the rendered value."""
    return tuple(use for use in _scan(text) if use.problem)


@lru_cache(maxsize=4096)
def _scan(text: str) -> tuple[SecretUse, ...]:
    """Every use of ``secrets`` in a template text, each once, in order: the secret it reads
    and what is wrong with it in a request value (empty: nothing). Parsed once per text."""
    if _NAME not in text:
        return ()
    try:
        ast = environment().parse(text)
    except TemplateSyntaxError:
        return ()  # reported when the value is compiled
    found: dict[SecretUse, None] = {}
    for name, ancestors in _names(ast, []):
        found.setdefault(_judge(name, ancestors), None)
    return tuple(found)


def secret_findings(workflow: Workflow, only: set[str] | None = None) -> list[Finding]:
    """Every use of a secret that could show it transformed (see the module's docstring);
    ``only`` limits it to those step ids (the workflow's outputs are then left out)."""
    found: list[Finding] = []
    for i, step in enumerate(workflow.steps):
        if only is not None and step.id not in only:
            continue
        for leaf in step.facts().leaves:
            loc = ("steps", i, leaf.part, *leaf.at)
            if leaf.part == "with":
                found.extend(_with_findings(loc, leaf.text))
            else:
                found.extend(_elsewhere(loc, leaf.text, _PARTS[leaf.part]))
    if only is None:
        for at, text in leaves(workflow.outputs, ("outputs",)):
            found.extend(_elsewhere(at, text, "the workflow's outputs"))
    return found


def short_secret_warnings(workflow: Workflow, values: Mapping[str, str | None]) -> list[Finding]:
    """Warnings (not errors) for declared secrets whose value, in ``values`` (secret name ->
    value, as read from the environment), is short: masked only as a whole value (the rule
    of :mod:`rtk_task.secrets`). A secret without a value is left to the run to report."""
    found: list[Finding] = []
    for name in workflow.secrets:
        value = values.get(name)
        if not value or len(value) >= SHORT_SECRET:
            continue
        what = f"is shorter than {SHORT_SECRET} characters: it is masked only as a whole value"
        found.append(
            Finding(
                ("secrets", name),
                f"the value of secret {name!r} (${workflow.secrets[name]}) {what}",
                "use a longer secret; a short one can show in previews, records and errors",
            )
        )
    return found


# -- the walk ---------------------------------------------------------------------------------

_PARTS = {
    "outputs": "a step's outputs",
    "when": "a `when` condition",
    "until": "an `until` condition",
    "for_each": "a `for_each`",
}

_Ancestors = list[tuple[nodes.Node, str]]


def _with_findings(loc: tuple[Any, ...], text: str) -> Iterator[Finding]:
    for use in secret_uses(text):
        yield Finding(loc, use.problem, _HINT_WITH.format(use.name or "NAME"))


def _elsewhere(loc: tuple[Any, ...], text: str, part: str) -> Iterator[Finding]:
    for name in dict.fromkeys(use.name for use in _scan(text)):
        what = f"secret {name!r}" if name is not None else "`secrets`"
        yield Finding(loc, f"{what} cannot be read in {part}", _HINT_ELSEWHERE)


def _names(node: nodes.Node, ancestors: _Ancestors) -> Iterator[tuple[nodes.Name, _Ancestors]]:
    """Every ``secrets`` name under ``node``, with its ancestors: (node, field) pairs, the
    template first, each the node holding the next one and the field holding it."""
    if isinstance(node, nodes.Name) and node.name == _NAME:
        yield node, ancestors
    for field, value in node.iter_fields():
        for child in value if isinstance(value, list) else (value,):
            if isinstance(child, nodes.Node):
                ancestors.append((node, field))
                yield from _names(child, ancestors)
                ancestors.pop()


def _secret_of(name: nodes.Name, ancestors: _Ancestors) -> str | None:
    """The secret ``secrets.X`` or ``secrets['X']`` reads, ``None`` for anything else."""
    parent, field = ancestors[-1]
    if name.ctx != "load" or field != "node":
        return None
    if isinstance(parent, nodes.Getattr):
        return parent.attr
    if (
        isinstance(parent, nodes.Getitem)
        and isinstance(parent.arg, nodes.Const)
        and isinstance(parent.arg.value, str)
    ):
        return parent.arg.value
    return None


def _judge(name: nodes.Name, ancestors: _Ancestors) -> SecretUse:
    """What is wrong with one ``secrets`` name in a request value (``problem`` empty: fine)."""
    secret = _secret_of(name, ancestors)
    if secret is None:
        parent, field = ancestors[-1]
        if name.ctx != "load":
            return SecretUse(None, "`secrets` is assigned to: it is reserved for the secrets")
        if isinstance(parent, nodes.Getitem) and field == "node":
            return SecretUse(None, "`secrets` is read with a computed key: name one secret")
        return SecretUse(None, "`secrets` is read as a whole: name one secret")
    above = ancestors[-2] if len(ancestors) > 1 else None
    if above is not None and isinstance(above[0], nodes.Call) and above[1] == "node":
        return SecretUse(None, f"`secrets.{secret}()` calls a method of `secrets`: name one secret")
    for node, field in reversed(ancestors[:-1]):
        if _passes(node, field):
            continue
        return SecretUse(secret, f"secret {secret!r} {_why(node, field)}")
    return SecretUse(secret, "")


def _passes(node: nodes.Node, field: str) -> bool:
    if isinstance(node, nodes.For) and node.recursive:
        return False  # `loop(...)` renders the body again, as a value that can be transformed
    return (type(node), field) in _PASSES


def _why(node: nodes.Node, field: str) -> str:
    """What ``node`` does to the secret it holds in ``field``."""
    if isinstance(node, nodes.Filter):
        if field == "node":
            return f"is transformed by the filter `{node.name}`"
        return f"is passed to the filter `{node.name}`"
    if isinstance(node, nodes.Getitem):
        if field == "node":
            kind = "sliced" if isinstance(node.arg, nodes.Slice) else "subscripted"
            return f"is {kind}"
        return "is used as a key"
    if isinstance(node, nodes.Getattr):
        return f"has its attribute or method `{node.attr}` read"
    if isinstance(node, nodes.Pair):
        return "is used as a dict key"
    if isinstance(node, nodes.For):
        if field == "body":
            return "is inside a recursive {% for %}, whose output can be transformed"
        return "is used in a {% for %}"
    if isinstance(node, nodes.If):
        return "is used in an {% if %} condition"
    if isinstance(node, nodes.CondExpr):
        return "is used in an `if` condition"
    if isinstance(node, nodes.With):
        return "is assigned by {% with %} (an alias hides it)"
    if isinstance(node, nodes.And | nodes.Or):
        return f"is tested (`{node.operator}`)"
    if isinstance(node, nodes.BinExpr):
        return f"is used in arithmetic (`{node.operator}`); only `~` or `+` joins text"
    if isinstance(node, nodes.UnaryExpr) and not isinstance(node, nodes.Not):
        return f"is used in arithmetic (`{node.operator}`)"
    for block, why in _BLOCKS.items():
        if isinstance(node, block):
            return why
    return f"is used in an expression ({type(node).__name__})"
