"""Docs pages: hostile lines are read in one pass, and NaN/Infinity never reach a manifest.

Time is measured side by side in ``benchmarks/bench_bounds.py`` (10x input vs 1x); here
only what the loader reports is checked.
"""

from __future__ import annotations

import pytest

from rtk_task.errors import DocsError
from rtk_task.manifests.docs import parse_docs

HEAD = [
    "POST /accounts/{account_id}/things",
    "Make a thing.",
    "Request body fields",
    "Name | Type | Required | Description |",
    "---|---|---|---|",
]


def test_a_cell_with_a_long_run_of_spaces_is_reported_as_a_bad_name() -> None:
    page = "\n".join([*HEAD, "my" + " " * 160_000 + "name |", "String | No | x |"]) + "\n"
    with pytest.raises(DocsError) as err:
        parse_docs(page, "p.txt")
    problem = err.value.first
    assert problem.where == "p.txt:6"
    assert "is not a parameter name" in problem.message


@pytest.mark.parametrize(
    ("kind", "default"),
    [("Array", "[1, NaN]"), ("Object", '{"a": Infinity}'), ("Array", "[-Infinity]")],
)
def test_nan_or_infinity_inside_a_default_is_refused(kind: str, default: str) -> None:
    page = "\n".join([*HEAD, "a |", f"{kind} | No | things. Default value: {default} |"]) + "\n"
    with pytest.raises(DocsError) as err:
        parse_docs(page, "p.txt")
    assert err.value.first.where == "p.txt:6"  # the row starts at its name line
    assert "NaN or Infinity" in err.value.first.message


def test_a_default_nested_past_the_bound_is_refused() -> None:
    deep = "[" * 150 + "]" * 150
    page = "\n".join([*HEAD, "a |", f"Array | No | things. Default value: {deep} |"]) + "\n"
    with pytest.raises(DocsError, match="nests too deep"):
        parse_docs(page, "p.txt")
