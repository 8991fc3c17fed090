"""Issue 23, item 3: a secret flows only whole into the request; `check` refuses the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rtk_task.workflows.check import CheckReport, check_workflow
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.render import environment
from rtk_task.workflows.secret_flow import secret_uses, short_secret_warnings

from ..helpers import run_cli

SECRET = "secret-flow-value-7f3a9c"

BASE = """\
name: secretive
inputs:
  name: {type: string, default: k}
  flag: {type: boolean, default: true}
  names: {type: array, default: [a]}
secrets:
  k: RTK_TEST_FLOW_K_TOKEN
  j: RTK_TEST_FLOW_J_TOKEN
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: acc
      title: TITLE
"""

HTTP = """\
  - id: call
    task: http
    with:
      method: POST
      url: "https://api.example.com/v1/{{ secrets.k }}/items"
      headers:
        Authorization: "Bearer {{ secrets.k }}"
        X-Key: "{{ secrets.j }}"
        X-Token: "{{ 'Token ' ~ secrets.k }}"
        X-Both: "{{ secrets.k + ':' + secrets.j }}"
      query: {token: "{{ secrets['k'] }}", other: "{{ secrets.j if inputs.flag else 'none' }}"}
      body:
        secret: "{{ secrets.k }}"
        nested: {list: ["{{ secrets.j }}"], pair: "{{ [secrets.k, secrets.j] }}"}
        text: "k={{ secrets.k }}&j={{ secrets.j }}"
        maybe: "{% if inputs.flag %}{{ secrets.k }}{% else %}none{% endif %}"
        each: "{% for n in inputs.names %}{{ n }}={{ secrets.j }};{% endfor %}"
        object: "{{ {'user': 'me', 'key': secrets.k} }}"
"""


def check(text: str) -> CheckReport:
    return check_workflow(parse_workflow(text, "wf.yaml", references=False))


def with_title(template: str) -> str:
    return BASE.replace("TITLE", json.dumps(template))


def problems(report: CheckReport) -> list[str]:
    return [str(p) for p in report.problems]


def the_one(report: CheckReport, path: str) -> str:
    found = [p for p in problems(report) if f": {path}: " in p]
    assert len(found) == 1, problems(report)
    assert found[0].startswith("wf.yaml:"), found[0]
    return found[0]


# -- allowed ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ secrets.k }}",
        "Bearer {{ secrets.k }}",
        "{{ 'Token ' ~ secrets.k }}",
        "{{ secrets['k'] }}",
        "{{- secrets.k -}}",
        "{{ secrets.k ~ '/' ~ (inputs.name | upper) }}",
        "{{ secrets.k if inputs.flag else inputs.name }}",
    ],
)
def test_a_whole_secret_in_a_request_value_is_accepted(template: str) -> None:
    assert secret_uses(template) == ()
    report = check(with_title(template))
    assert report.ok, problems(report)


def test_secrets_in_the_path_query_headers_and_body_of_an_http_step_are_accepted() -> None:
    report = check(with_title("{{ secrets.k }}") + HTTP)
    assert report.ok, problems(report)


# -- refused in a request value ---------------------------------------------------------------

REFUSED = [
    ("{{ secrets.k|reverse }}", "k", "transformed by the filter `reverse`"),
    ("{{ secrets.k|list|join(',') }}", "k", "transformed by the filter `list`"),
    ("{{ secrets.k[1:] }}", "k", "is sliced"),
    ("{{ secrets.k[0] }}", "k", "is subscripted"),
    ("{{ secrets.k|urlencode }}", "k", "transformed by the filter `urlencode`"),
    ("{{ secrets.k|e }}", "k", "transformed by the filter `e`"),
    ("{{ secrets.k|tojson }}", "k", "transformed by the filter `tojson`"),
    ("Bearer {{ inputs.name if false else secrets.k|lower }}", "k", "filter `lower`"),
    ("{{ inputs.names|join(secrets.k) }}", "k", "passed to the filter `join`"),
    ("{{ ('x' ~ secrets.k)|reverse }}", "k", "transformed by the filter `reverse`"),
    ("{{ [secrets.k]|first|reverse }}", "k", "transformed by the filter `first`"),
    ("{{ {'a': secrets.k}.a }}", "k", "attribute or method `a`"),
    ("{{ secrets.k.upper() }}", "k", "attribute or method `upper`"),
    ("{{ secrets.k is string }}", "k", "is tested"),
    ("{{ secrets.k == 'x' }}", "k", "is compared"),
    ("{{ 'a' in secrets.k }}", "k", "is compared"),
    ("{{ secrets.k * 2 }}", "k", "arithmetic (`*`)"),
    ("{{ '%.3s' % secrets.k }}", "k", "arithmetic (`%`)"),
    ("{{ secrets.k or 'none' }}", "k", "is tested (`or`)"),
    ("{{ dict(a=secrets.k) }}", "k", "passed to a call"),
    ("{{ inputs.names[secrets.k] }}", "k", "used as a key"),
    ("{{ {secrets.k: 1} }}", "k", "used as a dict key"),
    ("{{ 'a' if secrets.k else 'b' }}", "k", "`if` condition"),
    ("{% for c in secrets.k %}{{ c }}{% endfor %}", "k", "in a {% for %}"),
    ("{% set s = secrets.k %}{{ s }}", "k", "{% set %}"),
    ("{% set s %}{{ secrets.k }}{% endset %}{{ s|reverse }}", "k", "{% set %} block"),
    ("{% with s = secrets.k %}{{ s|reverse }}{% endwith %}", "k", "{% with %}"),
    ("{% if secrets.k %}yes{% endif %}", "k", "{% if %} condition"),
    ("{% filter reverse %}{{ secrets.k }}{% endfilter %}", "k", "{% filter %} block"),
    ("{% macro m() %}{{ secrets.k }}{% endmacro %}{{ m()|reverse }}", "k", "{% macro %}"),
    ("{% autoescape true %}{{ secrets.k }}{% endautoescape %}", "k", "{% autoescape %}"),
    ("{% for x in [1] recursive %}{{ secrets.k }}{% endfor %}", "k", "recursive {% for %}"),
    ("{{ secrets.j }} {{ secrets.k|reverse }}", "k", "transformed by the filter `reverse`"),
]


@pytest.mark.parametrize(("template", "secret", "why"), REFUSED)
def test_a_transformed_secret_is_refused_naming_the_field_and_the_secret(
    template: str, secret: str, why: str
) -> None:
    found = the_one(check(with_title(template)), "steps.create.with.title")
    assert f"secret {secret!r} " in found
    assert why in found
    assert "hint: use it only whole, in a step's `with:`" in found
    assert "{{ secrets." + secret + " }}" in found


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{{ secrets[inputs.name] }}", "computed key"),
        ("{{ secrets }}", "as a whole"),
        ("{{ secrets|list }}", "as a whole"),
        ("{{ secrets.items() }}", "calls a method of `secrets`"),
        ("{{ 'k' in secrets }}", "as a whole"),
        ("{% for n, v in secrets|dictsort %}{{ v }}{% endfor %}", "as a whole"),
        ("{% set secrets = {'k': 'x'} %}{{ secrets.k }}", "assigned to"),
    ],
)
def test_secrets_as_a_whole_or_with_a_computed_key_are_refused(template: str, why: str) -> None:
    found = [p for p in problems(check(with_title(template))) if "`secrets" in p.split("\n")[0]]
    assert len(found) == 1, problems(check(with_title(template)))
    assert ": steps.create.with.title: " in found[0]
    assert why in found[0]


def test_every_refused_use_in_one_value_is_reported_once() -> None:
    template = "{{ secrets.k|reverse }}{{ secrets.k|reverse }}{{ secrets.j[0] }}{{ secrets.k }}"
    report = check(with_title(template))
    assert len(report.problems) == 2, problems(report)
    assert "secret 'k' is transformed" in str(report.problems[0])
    assert "secret 'j' is subscripted" in str(report.problems[1])


def test_a_refused_secret_in_an_http_step_names_header_query_and_body_paths() -> None:
    http = HTTP
    for old, new in [
        ('X-Key: "{{ secrets.j }}"', 'X-Key: "{{ secrets.j|reverse }}"'),
        ("{{ secrets['k'] }}", "{{ secrets['k'][::-1] }}"),
        ('secret: "{{ secrets.k }}"', 'secret: "{{ secrets.k|tojson }}"'),
        ("/v1/{{ secrets.k }}/", "/v1/{{ secrets.k|urlencode }}/"),
    ]:
        assert old in http, old
        http = http.replace(old, new, 1)
    report = check(with_title("{{ secrets.k }}") + http)
    assert "secret 'j' is transformed" in the_one(report, "steps.call.with.headers.X-Key")
    assert "secret 'k' is sliced" in the_one(report, "steps.call.with.query.token")
    assert "filter `tojson`" in the_one(report, "steps.call.with.body.secret")
    assert "filter `urlencode`" in the_one(report, "steps.call.with.url")
    assert len(report.problems) == 4, problems(report)


# -- refused outside the request --------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "path", "where"),
    [
        (
            '    outputs: {token: "{{ secrets.k }}"}\n',
            "steps.create.outputs.token",
            "a step's outputs",
        ),
        (
            '    outputs: {both: "{{ response.body.id }}-{{ secrets.k }}"}\n',
            "steps.create.outputs.both",
            "a step's outputs",
        ),
        ("    when: \"{{ secrets.k == 'on' }}\"\n", "steps.create.when", "a `when` condition"),
        ('    when: "{{ secrets.k }}"\n', "steps.create.when", "a `when` condition"),
        (
            '    until: {condition: "{{ secrets.k in response.body.id }}"}\n',
            "steps.create.until.condition",
            "an `until` condition",
        ),
        ('    for_each: "{{ [secrets.k] }}"\n', "steps.create.for_each", "a `for_each`"),
        ('outputs: {leak: "{{ secrets.k }}"}\n', "outputs.leak", "the workflow's outputs"),
    ],
)
def test_any_use_of_a_secret_outside_the_request_is_refused(
    extra: str, path: str, where: str
) -> None:
    found = the_one(check(with_title("{{ secrets.k }}") + extra), path)
    assert f"secret 'k' cannot be read in {where}" in found
    assert "hint: secrets go only into a step's `with:`" in found


def test_secrets_as_a_whole_outside_the_request_is_refused() -> None:
    found = the_one(
        check(with_title("x") + 'outputs: {all: "{{ secrets|tojson }}"}\n'), "outputs.all"
    )
    assert "`secrets` cannot be read in the workflow's outputs" in found


def test_a_step_test_checks_only_its_step_and_not_the_workflow_outputs() -> None:
    text = with_title("{{ secrets.k }}") + (
        "  - id: other\n"
        "    task: realtimekit.meetings.get\n"
        '    with: {account_id: acc, meeting_id: "{{ secrets.k[0] }}"}\n'
        'outputs: {leak: "{{ secrets.k }}"}\n'
    )
    wf = parse_workflow(text, "wf.yaml", references=False)
    assert check_workflow(wf, steps={"create"}).ok
    whole = check_workflow(wf)
    assert len(whole.problems) == 2, problems(whole)


# -- check again, CLI, short secrets ----------------------------------------------------------


def test_checking_again_parses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    wf = parse_workflow(with_title("{{ secrets.k|reverse }}") + HTTP, "wf.yaml", references=False)
    first = problems(check_workflow(wf))
    assert len(first) == 1

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a template was parsed again")

    monkeypatch.setattr(environment(), "parse", no_parsing)
    assert problems(check_workflow(wf)) == first


def test_the_check_cli_exits_2_and_never_shows_the_secret(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(with_title("{{ secrets.k|reverse }}"))
    env = {"RTK_TEST_FLOW_K_TOKEN": SECRET, "RTK_TEST_FLOW_J_TOKEN": SECRET[::-1]}
    done = run_cli("check", str(wf), cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        f"{wf}:14: steps.create.with.title: secret 'k' is transformed by the filter `reverse`"
        in done.stderr
    ), done.stderr
    assert "1 problem(s)" in done.stderr
    as_json = run_cli("check", str(wf), "--json", cwd=tmp_path, env=env)
    assert as_json.returncode == 2
    (problem,) = json.loads(as_json.stdout)["problems"]
    assert "secret 'k'" in problem["message"]
    for out in (done, as_json):
        for shown in (SECRET, SECRET[::-1]):
            assert shown not in out.stdout + out.stderr


def test_short_secrets_are_warned_about_without_their_value() -> None:
    wf = parse_workflow(with_title("{{ secrets.k }}"), "wf.yaml", references=False)
    assert short_secret_warnings(wf, {"k": "a-long-enough-secret", "j": "12345678"}) == []
    assert short_secret_warnings(wf, {"k": None, "j": ""}) == []
    assert short_secret_warnings(wf, {"undeclared": "x"}) == []
    found = short_secret_warnings(wf, {"k": "sev7en!", "j": "abc"})
    assert [f.loc for f in found] == [("secrets", "k"), ("secrets", "j")]
    assert "secret 'k' ($RTK_TEST_FLOW_K_TOKEN)" in found[0].message
    assert "masked only as a whole value" in found[0].message
    assert "masked only as a whole value" in found[1].message
    for finding in found:
        assert "sev7en!" not in finding.message + finding.hint
        assert "abc" not in finding.message + finding.hint
    assert wf.field_path(found[0].loc) == "secrets.k"
    assert wf.locate(found[0].loc) == "wf.yaml:7"
