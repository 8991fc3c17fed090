"""Templates are bounded in work: each hostile template is refused, with its field, quickly
and in little memory, at compile time as at render time."""

from __future__ import annotations

import resource
import time
from typing import Any

import pytest

from rtk_task import TemplateError
from rtk_task.workflows.render import compile_value
from rtk_task.workflows.sandbox import MAX_SIZE

HOSTILE = [
    "{{ 'a' * 10**9 }}",
    "x{{ 'a' * 10**9 }}",
    "{{ [1] * 10**9 }}",
    "{{ 10 ** (10 ** 9) }}",
    "{{ 'a' * 100000 ~ 'b' * 1000000 + 'c' * 1000000 }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "{{ range(100000) | list | length }}{{ range(100000) | list | length }}",
    "{{ '%0999999999d' | format(1) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ 'x' | center(1000000000) }}",
    "{{ 'x\ny' | indent(1000000000) }}",
    "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "{% for i in range(99999) %}{{ 'abcdefghijk' }}{% endfor %}",
]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_template_is_refused_with_its_field_fast_and_small(text: str) -> None:
    before = _peak_mb()
    started = time.process_time()
    with pytest.raises(TemplateError) as caught:
        compile_value({"title": text}, "steps.s.with").render({}, "steps.s.with")
    assert caught.value.first.where == "steps.s.with.title"
    assert time.process_time() - started < 5  # CPU seconds: a busy machine does not move it
    assert _peak_mb() - before < 200


@pytest.mark.parametrize("text", ["{{ ''.join }}", "{{ {'a': ''.upper} }}", "{{ lipsum }}"])
def test_a_value_that_is_not_data_is_refused_not_passed_on(text: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_value(text, "steps.s.outputs.x").render({}, "steps.s.outputs.x")
    assert caught.value.first.where == "steps.s.outputs.x"


def test_a_range_comes_out_as_a_list() -> None:
    assert compile_value("{{ range(3) }}").render({}) == [0, 1, 2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ range(3) | list }}", [0, 1, 2]),
        ("{{ 2 ** 10 }}", 1024),
        ("{{ '%05d' | format(42) }}", "00042"),
        ("{{ '{:>4}'.format(7) }}", "   7"),
        ("{{ ('x' * 1000) | length }}", 1000),
    ],
)
def test_ordinary_templates_still_render(text: str, expected: Any) -> None:
    assert compile_value(text).render({}) == expected


def test_the_size_limit_is_exact() -> None:
    assert len(compile_value(f"{{{{ 'a' * {MAX_SIZE} }}}}").render({})) == MAX_SIZE
    with pytest.raises(TemplateError):
        compile_value(f"{{{{ 'a' * {MAX_SIZE + 1} }}}}").render({})
