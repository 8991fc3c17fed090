"""When an imported n8n node runs: IF, Switch and Merge nodes as exact ``when:`` conditions, and
a Wait and IF looping back to an HTTP Request node as that step's ``until:``.

A node's condition is kept as a disjunction of conjunctions (:class:`Cond`) of translated
conditions (jinja expressions) and their negations, so that what n8n decides by routing items
is decided the same way by ``when:``:

- an IF node's true output runs on its condition, the false output on ``not``;
- a Switch node's output ``i`` runs when rule ``i`` holds and no rule before it did (with
  ``allMatchingOutputs``: when rule ``i`` holds), its fallback output when no rule holds; in
  expression mode, output ``i`` when the expression is ``i``;
- a node fed by several nodes runs when any of them sends it items; a Merge node runs when
  any input has items (``append``, keep everything, by position), when every input has
  (``chooseBranch``, keep matches, all combinations), or when one named input has (enrich
  input 1 or 2, keep non-matches of one input), as n8n's Merge node decides;
- ``x and c or x and not c`` is ``x``: after a Merge fed by both branches of an IF, the next
  step has no ``when:`` of that IF.

An IF condition that cannot be translated becomes a boolean workflow input (a note says so),
never a branch that runs either way. :func:`find_loops` finds ``HTTP -> IF -> Wait -> HTTP``
and ``HTTP -> Wait -> IF -> HTTP`` cycles: the HTTP step repeats every Wait interval until the
IF's exit branch holds (``until:``), and the connection that closes the loop is left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALWAYS",
    "IF_NODE",
    "MERGE_NODE",
    "NEVER",
    "SWITCH_NODE",
    "WAIT_NODE",
    "Cond",
    "Loop",
    "filter_condition",
    "find_loops",
    "if_condition",
    "merge_rule",
    "switch_outputs",
    "wait_seconds",
]

IF_NODE = "n8n-nodes-base.if"
SWITCH_NODE = "n8n-nodes-base.switch"
MERGE_NODE = "n8n-nodes-base.merge"
WAIT_NODE = "n8n-nodes-base.wait"
HTTP_NODE = "n8n-nodes-base.httpRequest"
#: The most terms a condition keeps (a chain of merges could grow it without end).
MAX_TERMS = 64

#: ``(expression, holds)``: a translated condition, or its negation.
Literal = tuple[str, bool]
Term = frozenset[Literal]


@dataclass(frozen=True)
class Cond:
    """When a node runs: any of ``terms`` holds, each a conjunction of literals."""

    terms: frozenset[Term]

    @staticmethod
    def of(expression: str) -> Cond:
        """The condition ``expression`` holds."""
        return Cond(frozenset({frozenset({(expression, True)})}))

    def and_(self, other: Cond) -> Cond:
        """Both hold; a term with a literal and its negation is dropped."""
        terms = {a | b for a in self.terms for b in other.terms}
        return _simplified({t for t in terms if not any((e, not h) in t for e, h in t)})

    def or_(self, other: Cond) -> Cond:
        """Either holds."""
        return _simplified(set(self.terms | other.terms))

    def not_(self) -> Cond:
        """It does not hold."""
        out = ALWAYS
        for term in self.terms:
            out = out.and_(
                Cond(frozenset(frozenset({(e, not h)}) for e, h in term)) if term else NEVER
            )
        return out

    def excludes(self, other: Cond) -> bool:
        """Whether this and ``other`` never hold together."""
        return not self.and_(other).terms

    def jinja(self) -> str | None:
        """As one jinja expression; ``None`` when it always holds."""
        if frozenset() in self.terms:
            return None
        if not self.terms:
            return "false"
        only = next(iter(self.terms)) if len(self.terms) == 1 else frozenset()
        if len(only) == 1 and next(iter(only))[1]:
            return next(iter(only))[0]  # one condition as it was written
        terms = sorted(" and ".join(sorted(_lit(lit) for lit in t)) for t in self.terms)
        if len(terms) == 1:
            return terms[0]
        return " or ".join(f"({t})" if " and " in t else t for t in terms)


ALWAYS = Cond(frozenset({frozenset()}))
NEVER = Cond(frozenset())


def _lit(literal: Literal) -> str:
    text, holds = literal
    simple = text.replace("_", "").replace(".", "").isalnum()
    if holds:
        return text if simple else f"({text})"
    return f"not {text}" if simple else f"not ({text})"


def _simplified(terms: set[Term]) -> Cond:
    """``x and c or x and not c`` as ``x``; a term that holds whenever another one does is
    absorbed (``x or x and y`` is ``x``). Raises ``ValueError`` past :data:`MAX_TERMS`."""
    changed = True
    while changed:
        changed = False
        for a in list(terms):
            for expr, holds in a:
                b = (a - {(expr, holds)}) | {(expr, not holds)}
                if b in terms and a in terms:
                    terms -= {a, b}
                    terms.add(a - {(expr, holds)})
                    changed = True
                    break
            if changed:
                break
    kept = {t for t in terms if not any(o < t for o in terms)}
    if len(kept) > MAX_TERMS:
        raise ValueError(f"more than {MAX_TERMS} cases")
    return Cond(frozenset(kept))


# -- IF and Switch conditions ----------------------------------------------------------------

Translate = Callable[[Any], "str | None"]

_OPS = {
    "equals": "{l} == {r}", "equal": "{l} == {r}", "notEquals": "{l} != {r}",
    "notEqual": "{l} != {r}", "gt": "{l} > {r}", "larger": "{l} > {r}", "lt": "{l} < {r}",
    "smaller": "{l} < {r}", "gte": "{l} >= {r}", "largerEqual": "{l} >= {r}",
    "lte": "{l} <= {r}", "smallerEqual": "{l} <= {r}", "contains": "{r} in {l}",
    "notContains": "{r} not in {l}", "true": "{l} == true", "false": "{l} == false",
    "empty": "not {l}", "isEmpty": "not {l}", "notEmpty": "{l}", "isNotEmpty": "{l}",
    "exists": "{l} is defined", "notExists": "{l} is not defined",
    "startsWith": "({l}).startswith({r})", "notStartsWith": "not ({l}).startswith({r})",
    "endsWith": "({l}).endswith({r})", "notEndsWith": "not ({l}).endswith({r})",
    "lengthEquals": "({l} | length) == {r}", "lengthNotEquals": "({l} | length) != {r}",
    "lengthGt": "({l} | length) > {r}", "lengthLt": "({l} | length) < {r}",
    "lengthGte": "({l} | length) >= {r}", "lengthLte": "({l} | length) <= {r}",
}  # fmt: skip
_STRING_OPS = {"equals", "notEquals", "contains", "notContains", "startsWith", "notStartsWith",
               "endsWith", "notEndsWith"}  # fmt: skip


def _typed(value: Any, kind: str) -> Any:
    """A literal right value in the type its operator compares as (n8n stores ``"5"``)."""
    if not isinstance(value, str) or value.startswith("="):
        return value
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _one(form: str, lhs: str | None, rhs: str | None) -> str | None:
    if lhs is None or (rhs is None and "{r}" in form):
        return None
    return form.format(l=lhs, r=rhs)


def filter_condition(conditions: Any, translate: Translate) -> str | None:
    """A filter parameter (IF v2, Switch v3 rules: ``{conditions: [...], combinator,
    options}``) as one jinja expression, or ``None``."""
    if not isinstance(conditions, dict) or not isinstance(conditions.get("conditions"), list):
        return None
    options = _dict(conditions.get("options"))
    lower = options.get("caseSensitive") is False
    parts: list[str] = []
    for c in conditions["conditions"]:
        if not isinstance(c, dict):
            return None
        operator = _dict(c.get("operator"))
        op, kind = str(operator.get("operation")), str(operator.get("type") or "string")
        form = _OPS.get(op)
        if form is None:
            return None
        lhs = translate(c.get("leftValue"))
        rhs = translate(_typed(c.get("rightValue"), kind))
        if lower and kind == "string" and op in _STRING_OPS:
            lhs = f"({lhs} | lower)" if lhs else None
            rhs = f"({rhs} | lower)" if rhs else None
        part = _one(form, lhs, rhs)
        if part is None:
            return None
        parts.append(part)
    combinator = str(conditions.get("combinator") or "and").lower()
    if not parts or combinator not in ("and", "or"):
        return None
    return f" {combinator} ".join(f"({p})" if len(parts) > 1 else p for p in parts)


def if_condition(params: dict[str, Any], translate: Translate) -> str | None:
    """An IF node's conditions (typeVersion 1 or 2) as one jinja expression, or ``None``."""
    conditions = params.get("conditions") or {}
    if isinstance(conditions, dict) and isinstance(conditions.get("conditions"), list):
        return filter_condition(conditions, translate)
    if not isinstance(conditions, dict):
        return None
    # typeVersion 1: {string: [...], number: [...], boolean: [...]}
    combinator = "or" if params.get("combineOperation") == "any" else "and"
    parts: list[str] = []
    for kind in ("string", "number", "boolean", "dateTime"):
        for c in conditions.get(kind) or []:
            form = _OPS.get(str(c.get("operation") or "equal")) if kind != "dateTime" else None
            part = _one(form or "", translate(c.get("value1")), translate(c.get("value2")))
            if form is None or part is None:
                return None
            parts.append(part)
    if not parts:
        return None
    return f" {combinator} ".join(f"({p})" if len(parts) > 1 else p for p in parts)


def switch_outputs(
    params: dict[str, Any], version: float, translate: Translate
) -> list[Cond] | None:
    """The condition of each output of a Switch node, in output order, or ``None``."""
    if params.get("mode") == "expression":
        value = translate(params.get("output"))
        count = params.get("numberOutputs", params.get("outputsAmount", 4))
        if value is None or not isinstance(count, int) or count < 1:
            return None
        return [Cond.of(f"{value} == {i}") for i in range(count)]
    rules = _dict(params.get("rules"))
    options = _dict(params.get("options"))
    conds: list[str] = []
    outputs: list[int] = []
    if isinstance(rules.get("values"), list):  # typeVersion 3: filter conditions
        for i, rule in enumerate(rules["values"]):
            got = filter_condition(_dict(rule).get("conditions"), translate)
            if got is None:
                return None
            conds.append(got)
            outputs.append(i)
        fallback: Any = options.get("fallbackOutput", "none")
        every = bool(options.get("allMatchingOutputs"))
    else:  # typeVersion 1 and 2: one value compared by each rule
        kind = str(params.get("dataType") or "number")
        value = translate(params.get("value1"))
        for i, rule in enumerate(rules.get("rules") or []):
            form = _OPS.get(str(_dict(rule).get("operation") or "equal"))
            rhs = translate(_typed(_dict(rule).get("value2"), kind))
            got = _one(form or "", value, rhs) if form and kind != "dateTime" else None
            if got is None:
                return None
            conds.append(got)
            out = rule.get("output", i) if version < 2 else i
            outputs.append(out if isinstance(out, int) else i)
        fallback = params.get("fallbackOutput", -1)
        every = False
    size = max([*outputs, -1]) + 1
    result = [NEVER] * size
    before = ALWAYS
    for cond, out in zip(conds, outputs, strict=True):
        fires = Cond.of(cond) if every else before.and_(Cond.of(cond))
        result[out] = result[out].or_(fires)
        before = before.and_(Cond.of(cond).not_())
    none_matched = before
    if fallback in ("extra", "last"):  # an output of its own, after the rules' ones
        result.append(none_matched)
    elif isinstance(fallback, int) and fallback >= 0:
        result.extend([NEVER] * (fallback + 1 - len(result)))
        result[fallback] = result[fallback].or_(none_matched)
    return result


# -- Merge -----------------------------------------------------------------------------------

#: How a Merge node's output depends on its inputs: any, all, or one input (1-based).
MergeRule = tuple[str, int]


def merge_rule(params: dict[str, Any], version: float) -> MergeRule | None:
    """When a Merge node outputs items, as n8n's Merge node decides: ``("any", 0)``,
    ``("all", 0)`` or ``("input", N)``; ``None`` when that depends on the data."""
    mode = str(params.get("mode") or "append")
    if version < 2:  # typeVersion 1
        if mode == "append":
            return ("any", 0)
        if mode == "passThrough":
            return ("input", 2 if params.get("output") == "input2" else 1)
        if mode in ("wait", "multiplex", "mergeByKey", "keepKeyMatches"):
            return ("all", 0)
        return None
    if mode == "append":
        return ("any", 0)
    if mode == "chooseBranch":  # waits for every input
        return ("all", 0)
    if mode != "combine":
        return None  # combineBySql: what its query outputs
    by = str(params.get("combineBy") or params.get("combinationMode") or "combineByFields")
    if by in ("combineByPosition", "mergeByPosition"):
        return ("any", 0)  # one input empty: the other's items
    if by in ("combineAll", "multiplex"):
        return ("all", 0)
    join = str(params.get("joinMode") or "keepMatches")
    source = str(params.get("outputDataFrom") or "both")
    if join == "keepMatches":
        return ("all", 0)
    if join == "keepEverything":
        return ("any", 0)
    if join in ("enrichInput1", "enrichInput2"):
        return ("input", int(join[-1]))
    if join == "keepNonMatches":
        return ("input", int(source[-1])) if source in ("input1", "input2") else ("any", 0)
    return None


# -- Wait and IF loops -----------------------------------------------------------------------


@dataclass
class Loop:
    """``http`` repeats until ``if_``'s output other than ``output`` holds, every ``wait``."""

    http: str
    if_: str
    wait: str
    output: int
    #: The connection left out to break the loop: (source, output index, target).
    edge: tuple[str, int, str]


def find_loops(
    types: dict[str, str],
    children: dict[str, list[tuple[str, int]]],
    parents: dict[str, list[str]],
) -> list[Loop]:
    """Each ``HTTP -> IF -> Wait -> HTTP`` or ``HTTP -> Wait -> IF -> HTTP`` cycle, every
    node of it once (``children``: node -> (child, output index); ``parents``: node -> its
    parent nodes)."""
    found: list[Loop] = []
    used: set[str] = set()

    def only(items: Iterable[Any]) -> Any:
        listed = list(items)
        return listed[0] if len(listed) == 1 else None

    for http, kind in types.items():
        if kind != HTTP_NODE or http in used:
            continue
        for child, _ in children.get(http, []):
            if types.get(child) == IF_NODE and parents.get(child) == [http]:  # HTTP -> IF
                for wait, out in children.get(child, []):
                    back = only(children.get(wait, []))
                    closes = types.get(wait) == WAIT_NODE and back and back[0] == http
                    if closes and parents.get(wait) == [child] and {wait, child}.isdisjoint(used):
                        found.append(Loop(http, child, wait, out, (wait, back[1], http)))
                        used.update({http, child, wait})
            if types.get(child) == WAIT_NODE and parents.get(child) == [http]:  # HTTP -> Wait
                if_ = only(children.get(child, []))
                if if_ and types.get(if_[0]) == IF_NODE and parents.get(if_[0]) == [child]:
                    for target, out in children.get(if_[0], []):
                        if target == http and {child, if_[0]}.isdisjoint(used):
                            found.append(Loop(http, if_[0], child, out, (if_[0], out, http)))
                            used.update({http, child, if_[0]})
    return found


_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def wait_seconds(params: dict[str, Any]) -> float | None:
    """A Wait node's interval in seconds, or ``None`` when it waits for something else (a
    webhook, a date, a form)."""
    if str(params.get("resume") or "timeInterval") != "timeInterval":
        return None
    amount = params.get("amount", 1)
    unit = str(params.get("unit") or "hours")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or unit not in _UNITS:
        return None
    return float(amount) * _UNITS[unit]


def literal(value: Any) -> str:
    """A literal value as a jinja expression."""
    return json.dumps(value)


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping (an n8n parameter), else an empty one."""
    return value if isinstance(value, dict) else {}
