"""Issue 14: messages that point the right way.

A 404 from a base URL without the API prefix says so; an index into an empty list names the
list and says it is empty; ``--output S.O=V`` naming no step or no output is an error with a
did-you-mean that suggests the declared name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtk_task.client import Client
from rtk_task.errors import TemplateError
from rtk_task.manifests.registry import load_task
from rtk_task.workflows.render import compile_value

from ..helpers import run_cli

TOKEN = "tok-messages-1"


def _404_hint(base_url: str) -> tuple[str | None, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(404, json={"success": False, "errors": [{"message": "not found"}]})

    with Client(base_url=base_url, token=TOKEN, transport=httpx.MockTransport(handler)) as c:
        result = c.call(
            load_task("realtimekit.meetings.get"), {"account_id": "a", "meeting_id": "m"}
        )
    assert not result.ok
    assert result.error is not None
    assert result.error.status_code == 404
    return result.error.hint, seen


def test_a_404_from_a_base_url_without_the_api_prefix_says_so() -> None:
    hint, seen = _404_hint("http://127.0.0.1:1")
    assert len(seen) == 1, seen
    assert seen[0].startswith("http://127.0.0.1:1/accounts/a/"), seen
    assert hint is not None
    assert "lacks the API prefix /client/v4" in hint, hint
    assert "--base-url http://127.0.0.1:1/client/v4" in hint, hint


def test_a_404_from_a_base_url_with_a_path_but_not_the_prefix_says_so() -> None:
    hint, _ = _404_hint("http://127.0.0.1:1/v4/")
    assert hint is not None
    assert "try --base-url http://127.0.0.1:1/v4/client/v4" in hint, hint


def test_a_404_from_the_right_base_url_points_at_the_ids() -> None:
    hint, _ = _404_hint("http://127.0.0.1:1/client/v4")
    assert hint == "check the ids in the path"


def test_the_cli_says_the_base_url_lacks_the_prefix(emulator: Any, tmp_path: Path) -> None:
    origin = emulator.base_url.removesuffix("/client/v4")
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"account_id": "acc-msg", "meeting_id": "m-none"}))
    done = run_cli(
        "call", "realtimekit.meetings.get", "--with", str(inputs), "--base-url", origin, "--json"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["status_code"] == 404
    assert f"try --base-url {origin}/client/v4" in error["hint"], error


# -- an index into an empty list ----------------------------------------------------------


def _render(text: str, items: list[Any]) -> Any:
    context = {"steps": {"list": {"outputs": {"items": items}}}}
    return compile_value(text, "steps.b.with.x").render(context, "steps.b.with.x")


@pytest.mark.parametrize(
    "text",
    [
        "{{ steps.list.outputs.items[0] }}",
        "{{ steps.list.outputs.items[0].id }}",
        "{{ steps.list.outputs.items.0.id }}",
        "id-{{ steps.list.outputs.items[0].id }}",
    ],
)
def test_an_index_into_an_empty_list_says_the_list_is_empty(text: str) -> None:
    with pytest.raises(TemplateError) as caught:
        _render(text, [])
    problem = caught.value.first
    assert problem.where == "steps.b.with.x"
    assert problem.message.startswith("steps.list.outputs.items is empty: it has no item [0]")
    assert 'when: "{{ steps.list.outputs.items }}"' in problem.hint


def test_an_index_past_the_end_says_how_many_items_there_are() -> None:
    with pytest.raises(TemplateError) as caught:
        _render("{{ steps.list.outputs.items[2].id }}", [{"id": "a"}, {"id": "b"}])
    problem = caught.value.first
    assert problem.message.startswith("steps.list.outputs.items has no item [2]: it has 2")
    assert problem.hint == "its items are [0] to [1]"


def test_an_output_named_items_is_the_output_not_the_dict_method() -> None:
    assert _render("{{ steps.list.outputs.items[1].id }}", [{"id": "a"}, {"id": "b"}]) == "b"
    assert _render("{{ steps.list.outputs.items | length }}", [1, 2, 3]) == 3


# -- --output for a step or output that does not exist ------------------------------------

WORKFLOW = """\
name: outputs
inputs:
  account_id: {type: string, default: acc-msg}
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: "{{ inputs.account_id }}"
      title: Messages
  - id: add
    task: realtimekit.meetings.participants.add
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.create.outputs.meeting_id }}"
      preset_name: host
      custom_participant_id: host
"""


def _test_step(tmp_path: Path, *outputs: str) -> tuple[int, str]:
    path = tmp_path / "wf.yaml"
    path.write_text(WORKFLOW)
    args = [a for o in outputs for a in ("--output", o)]
    done = run_cli("test", str(path), "--step", "add", *args, "--dry-run", cwd=tmp_path)
    return done.returncode, done.stdout + done.stderr


def test_an_output_of_a_mistyped_step_is_an_error_suggesting_the_step(tmp_path: Path) -> None:
    code, out = _test_step(tmp_path, "creat.meeting_id=m-1")
    assert code == 2, out
    assert "--output creat.meeting_id: no step 'creat'" in out, out
    assert "did you mean 'create'?" in out, out


def test_a_mistyped_output_is_an_error_suggesting_the_declared_name(tmp_path: Path) -> None:
    code, out = _test_step(tmp_path, "create.meeting_idd=m-1")
    assert code == 2, out
    assert "step create has no output 'meeting_idd'" in out, out
    assert "did you mean 'meeting_id'?" in out, out
    assert "did you mean 'meeting_idd'" not in out, out


def test_a_right_output_is_used(tmp_path: Path) -> None:
    code, out = _test_step(tmp_path, "create.meeting_id=m-1")
    assert code == 0, out
    assert "using --output values for create" in out
    assert "/meetings/m-1/participants" in out, out
