"""Rendering: native types, literal outputs, strict undefined names, the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from rtk_task.errors import TemplateError
from rtk_task.workflows.render import compile_value, references

CONTEXT: dict[str, Any] = {
    "inputs": {"count": 5, "flag": True, "tags": ["a", "b"], "obj": {"k": 1}, "title": "Sync"},
    "steps": {"create": {"outputs": {"meeting_id": "m-1", "evil": "{{ 7*7 }}"}}},
    "secrets": {"key": "s3cret-value"},
}


def render(value: Any) -> Any:
    return compile_value(value, "steps.s.with").render(CONTEXT, "steps.s.with")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.count }}", 5),
        ("{{inputs.flag}}", True),
        ("{{ inputs.tags }}", ["a", "b"]),
        ("{{ inputs.obj }}", {"k": 1}),
        ("  {{ inputs.count + 1 }}  ", 6),
        ("n={{ inputs.count }}", "n=5"),
        ("{{ inputs.title }} {{ inputs.count }}", "Sync 5"),
        ("plain text", "plain text"),
        # whitespace control is not part of the expression: `{{- x }}` is x, not -x
        ("{{- inputs.count }}", 5),
        ("{{-inputs.count-}}", 5),
        ("{{+ inputs.count }}", 5),
        ("{{ -inputs.count }}", -5),
    ],
)
def test_one_expression_keeps_its_native_type_and_mixed_text_is_a_string(
    template: str, expected: Any
) -> None:
    assert render(template) == expected


def test_values_render_once_so_an_output_holding_braces_stays_literal() -> None:
    assert render("{{ steps.create.outputs.evil }}") == "{{ 7*7 }}"
    assert render("x {{ steps.create.outputs.evil }}") == "x {{ 7*7 }}"


def test_nested_structures_render_leaf_by_leaf() -> None:
    value = {"a": ["{{ inputs.count }}", {"b": "{{ steps.create.outputs.meeting_id }}"}], "n": 3}
    assert render(value) == {"a": [5, {"b": "m-1"}], "n": 3}


@pytest.mark.parametrize(
    ("template", "name", "hint"),
    [
        ("{{ inputs.titel }}", "titel", "did you mean 'title'?"),
        ("{{ input.count }}", "input", "did you mean 'inputs'?"),
        ("{{ steps.create.outputs.meeting }}", "meeting", "did you mean 'meeting_id'?"),
        ("x {{ nope.y.z }}", "nope", ""),
    ],
)
def test_an_undefined_name_is_an_error_naming_field_and_variable(
    template: str, name: str, hint: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        render({"field": {"deep": template}})
    problem = caught.value.first
    assert problem.where == "steps.s.with.field.deep", problem
    assert repr(name) in problem.message, problem
    assert hint in problem.hint, problem


INJECTIONS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__ }}",
    "{% include '/etc/passwd' %}",
    "{% import 'x' as y %}",
    "{% extends 'base' %}",
    "{{ inputs.__class__ }}",
    "{{ inputs.obj.__class__.__base__ }}",
    "{{ (1).__class__.__subclasses__() }}",
    "{{ inputs|attr('__class__') }}",
    "{{ range(10**7)|list|length }}",
    "{{ self.__init__ }}",
    "{{ config }}",
    "{{ request.application }}",
]


@pytest.mark.parametrize("template", INJECTIONS)
def test_template_injection_is_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template)


@pytest.mark.parametrize(
    "template",
    [
        "{{ inputs.count ",
        "{{ inputs.count | tokn }}",  # filters and tests are looked up when compiled
        "{{ inputs.count is strng }}",
        "{% block b %}{% endblock %}{% block b %}{% endblock %}",
        "{% macro m(x, x) %}{% endmacro %}",  # refused by Python, in the code Jinja wrote
        "{{ inputs.count(x=1, x=2) }}",
    ],
)
def test_a_syntax_error_is_reported_when_compiled(template: str) -> None:
    with pytest.raises(TemplateError, match="template syntax") as caught:
        compile_value({"x": template}, "steps.s.with")
    assert caught.value.first.where == "steps.s.with.x"


def test_references_finds_attribute_chains() -> None:
    found = references({"a": "{{ steps.create.outputs.meeting_id }}", "b": ["{{ inputs['x'] }}"]})
    assert ("steps", "create", "outputs", "meeting_id") in found
    assert ("inputs", "x") in found


def test_a_plain_chain_renders_the_same_as_jinja_and_errors_stay_jinjas() -> None:
    from rtk_task import TemplateError
    from rtk_task.workflows.render import compile_value

    context = {
        "inputs": {"people": [{"email": "a@x"}, {"email": "b@x"}], "items": [1, 2]},
        "item": {"email": "c@x"},
    }
    for text, expected in [
        ("{{ inputs.people[1].email }}", "b@x"),
        ("{{ item.email }}", "c@x"),
        ("{{ inputs.items }}", [1, 2]),  # a key wins over the dict method of that name
        ("{{ inputs.people[0] }}", {"email": "a@x"}),
    ]:
        assert compile_value(text).render(context) == expected
    for text in ("{{ inputs.people[5].email }}", "{{ inputs.nope }}", "{{ item.email.x }}"):
        with pytest.raises(TemplateError):
            compile_value(text, "f").render(context, "f")
