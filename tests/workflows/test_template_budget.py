"""Templates are bounded however they loop or grow (issue 23, item 1): a loop over lists, a
macro or a recursive loop is counted turn by turn and stopped by the clock; text, lists and
numbers stop at their size, measured before they are made. Each reproduction is refused with
a message naming the budget it passed, and the field it is in."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from rtk_task import TemplateError
from rtk_task.workflows import sandbox
from rtk_task.workflows.render import compile_value
from rtk_task.workflows.sandbox import MAX_INT_BITS, MAX_ITEMS, MAX_SIZE, MAX_WIDTH

LOOP_BOMB = "{% for a in ['x']*100000 %}{% for b in ['y']*100000 %}{% endfor %}{% endfor %}"
ITEMS = f"went through more than {MAX_ITEMS} items in one render"
TEXT = f"a text of more than {MAX_SIZE} characters"
BITS = f"a number of more than {MAX_INT_BITS} bits"
WIDTH = f"a format width over {MAX_WIDTH}"
#: Half the size limit and a little more: two of them pass it.
S = "{% set s = 'x' * 600000 %}"
#: ``s`` 64 times over, in a list of lists: each ``set`` at the top level doubles it.
NESTED = S + "{% set l = [s, s] %}" + "{% set l = [l, l] %}" * 5
#: What a refused template may allocate while it is refused.
SMALL = 64 * 2**20


@pytest.fixture(autouse=True)
def _clock_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is about one budget, in time a busy machine may stretch: the clock has its
    own test."""
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 600.0)


def _refused(text: str) -> str:
    """The message of the error rendering ``text`` gives, in little memory; the error names
    the field."""
    value = compile_value({"t": text}, "steps.s.with")
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError) as caught:
            value.render({}, "steps.s.with")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.first.where == "steps.s.with.t"
    assert peak <= SMALL, f"{peak / 2**20:.0f} MB"
    return caught.value.first.message


def test_a_loop_bomb_over_lists_is_refused_by_the_item_budget_in_little_memory() -> None:
    assert ITEMS in _refused(LOOP_BOMB)  # memory: see _refused


def test_the_loop_bomb_stops_on_the_turn_past_the_budget() -> None:
    template = sandbox.environment().from_string(LOOP_BOMB)
    with sandbox.rendering() as budget, pytest.raises(sandbox.BudgetExceeded, match=ITEMS):
        sandbox.bounded_text(template.generate())
    assert budget.items == MAX_ITEMS + 1


def test_a_loop_bomb_with_items_to_spare_ends_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox, "MAX_ITEMS", 10**12)
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.05)
    assert "the render took more than 0.05 s" in _refused(LOOP_BOMB)


def test_a_concatenation_doubled_by_set_is_refused() -> None:
    # `{% set %}` inside a loop does not leak out of it; at the top level each one does
    doubling = "{% set s = 'x' %}" + "{% set s = s ~ s %}" * 40 + "{{ s | length }}"
    assert TEXT in _refused(doubling)


def test_a_join_past_the_size_is_refused() -> None:
    assert TEXT in _refused(NESTED + "{{ l | join | length }}")


def test_a_replace_past_the_size_is_refused() -> None:
    doubling = S + "{% set s = s | replace('x', 'xx') %}" * 5 + "{{ s | length }}"
    assert TEXT in _refused(doubling)


def test_a_string_of_a_list_past_the_size_is_refused() -> None:
    assert TEXT in _refused(NESTED + "{{ l | string | length }}")


def test_tojson_past_the_size_is_refused() -> None:
    assert TEXT in _refused(NESTED + "{{ l | tojson | length }}")


def test_a_list_of_a_lazy_filter_counts_every_item() -> None:
    assert ITEMS in _refused("{{ [1] | slice(2000000) | list | length }}")


def test_a_batch_filled_past_the_size_is_refused() -> None:
    message = _refused("{{ [1] | batch(2000000, 0) | first | length }}")
    assert f"a batch of more than {MAX_SIZE} items" in message


def test_a_repetition_counts_what_it_repeats() -> None:
    message = _refused("{% set s = 'x' * 1000000 %}{{ ([s] * 1000) | join | length }}")
    assert f"a repetition of more than {MAX_SIZE} items" in message


def test_a_product_of_numbers_past_the_bits_is_refused() -> None:
    squares = "{% set a = 2 ** 2000 %}" + "{% set a = a * a %}" * 6 + "{{ a.bit_length() }}"
    assert BITS in _refused(squares)


@pytest.mark.parametrize(
    "text",
    [
        "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}{{ m(30) }}",
        # a recursive loop over a list held 10 times at each of 3 levels
        "{% set a = [1] * 1000 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
        "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{% set d = [c, c, c, c, c, c, c, c, c, c] %}"
        "{% for x in d recursive %}{% if x is iterable %}{{ loop(x) }}{% endif %}{% endfor %}",
        "{{ 1 in [1] | slice(100000000) }}",
        "{% set big = range(1000) | list %}{% for i in range(200) %}{{ big | sum }}{% endfor %}",
    ],
)
def test_calls_and_filters_that_run_on_count_against_the_items(text: str) -> None:
    value = compile_value({"t": text}, "steps.s.with")
    with pytest.raises(TemplateError, match=ITEMS) as caught:
        value.render({}, "steps.s.with")
    assert caught.value.first.where == "steps.s.with.t"


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        # text grown by a method, a format, a filter, a block, a print
        ("{{ 'a'.ljust(1000000000) }}", TEXT),
        ("{{ ('\t' * 1000000).expandtabs(1000) }}", TEXT),
        (S + "{% set s = ','.join([s, s]) %}" * 5 + "{{ s | length }}", TEXT),
        ("{{ ('ab' * 500000).replace('a', 'xyz') }}", TEXT),
        ("{{ ('a' * 2).translate({97: 'b' * 1000000}) }}", TEXT),
        ("{{ (1).to_bytes(1000000000, 'big') }}", TEXT),
        ("{{ ('\n' * 1000000) | indent(1000, blank=True) }}", TEXT),
        (S + "{% set s = '%s%s' % (s, s) %}" * 5 + "{{ s | length }}", TEXT),
        (S + "{% set s = '{}{}'.format(s, s) %}" * 5 + "{{ s | length }}", TEXT),
        (NESTED + "{{ ('%s' % l) | length }}", TEXT),
        (NESTED + "{{ l | upper | length }}", TEXT),
        ("{{ '%*d' % (1000000000, 1) }}", WIDTH),
        ("{{ '{:{}}'.format(1, 1000000000) | length }}", WIDTH),
        (
            S + "{% macro m() %}{{ s }}{{ s }}{% endmacro %}"
            "{% set t %}{{ m() }}{% endset %}{{ t | length }}",
            f"a macro or block wrote more than {MAX_SIZE} characters",
        ),
        (NESTED + "{% set l = [l, l] %}" * 3 + "x{{ l }}", TEXT),
        # data: a nested list held many times over
        ("{{ [[[1] * 1000] * 999, [[1] * 1000] * 999] }}", f"the value holds more than {MAX_SIZE}"),
    ],
)
def test_other_ways_to_grow_are_refused_before_they_grow(text: str, budget: str) -> None:
    assert budget in _refused(text)


def test_no_filter_runs_while_a_template_compiles() -> None:
    # Jinja folds a constant `{{ }}` when it compiles; this one would take minutes and GBs
    value = compile_value("x{{ [1] | slice(100000000) | list | length }}", "steps.s.with")
    with pytest.raises(TemplateError, match=ITEMS):
        value.render({}, "steps.s.with")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% for i in range(100000) %}{% endfor %}ok", "ok"),
        (
            "{% for i in [3, 4] %}{{ loop.index }}/{{ loop.length }}"
            "{{ loop.cycle('a', 'b') }} {% endfor %}",
            "1/2a 2/2b ",
        ),
        ("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{% else %}none{% endfor %}", "24"),
        ("{% for k, v in {'b': 2, 'a': 1} | dictsort %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;"),
        (
            "{% for x in [[1, [2]], 3] recursive %}"
            "{% if x is iterable %}({{ loop(x) }}){% else %}{{ x }}{% endif %}{% endfor %}",
            "(1(2))3",
        ),
        (
            "{% macro m(x) %}<{{ x }}{{ caller() }}>{% endmacro %}{% call m('a') %}b{% endcall %}",
            "<ab>",
        ),
        ("{% set b %}{{ 'x' ~ 1 }}{% endset %}{% filter upper %}{{ b }}{% endfilter %}", "X1"),
        ("{{ [3, 1, 2] | sort | join(',') }}", "1,2,3"),
        ("{{ [[1], [2]] | sum(start=[]) }}", [1, 2]),
        ("{{ [1, 2, 3, 4, 5] | batch(2, 0) | list }}", [[1, 2], [3, 4], [5, 0]]),
        ("{{ [1, 2, 3] | select('odd') | map('string') | join('-') }}", "1-3"),
        ("{{ {'a': [1, 'x']} | tojson }}", '{"a": [1, "x"]}'),
        ("{{ 'Hello' | replace('l', 'L', 1) ~ '!' }}", "HeLlo!"),
        ("{{ '%s-%05d' % ('x', 42) }}", "x-00042"),
        ("{{ ','.join(['a', 'b']) ~ 'a\tb'.expandtabs(2) }}", "a,ba b"),
        ("{{ 2 ** 2000 * 2 ** 2000 > 0 }}", True),
        (f"{{{{ ('a' * {MAX_SIZE}) | upper | length }}}}", MAX_SIZE),
        (f"{{{{ ['a' * {MAX_SIZE // 2}, 'b' * {MAX_SIZE // 2}] | join | length }}}}", MAX_SIZE),
    ],
)
def test_ordinary_templates_render_as_before(text: str, expected: Any) -> None:
    assert compile_value(text).render({}) == expected
