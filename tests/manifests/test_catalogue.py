"""The shipped catalogue: a task for every operation of the RealtimeKit reference document.

Counts and names come from the document itself (never a hard-coded 62): every operation has
a task, its id follows the provider's rule, creates are not resent, lists page, search finds
a task by the words a person types, and each task takes a realistic request body.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from rtk_task.cli import main
from rtk_task.errors import InputError
from rtk_task.inputs import validate_inputs
from rtk_task.manifests.build import rebuild
from rtk_task.manifests.model import Manifest, Param, ParamType
from rtk_task.manifests.openapi import OpenAPIDocument
from rtk_task.manifests.registry import all_tasks, shipped_dir, sources_dir
from rtk_task.paginate import paging_of
from rtk_task.providers import provider_for
from rtk_task.providers.cloudflare import NAMED, realtimekit

SPEC = sources_dir() / "realtimekit.openapi.json"
DOC = OpenAPIDocument.load(SPEC)
#: ``(METHOD, path, operation object)`` of every operation in the document.
OPERATIONS = list(DOC.operations())
BY_OPERATION = {
    s.operation: m for m in all_tasks() for s in m.provenance if s.operation is not None
}
VERBS = {"list", "get", "create", "replace", "update", "delete"}


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main`` in-process: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


def task_of(operation: dict[str, Any]) -> Manifest:
    found = BY_OPERATION.get(operation["operationId"])
    assert found is not None, f"no shipped task for {operation['operationId']}"
    return found


# -- every operation, once ------------------------------------------------------------------------


def test_list_shows_a_task_for_every_operation_of_the_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = call(capsys, "list", "--json")
    assert code == 0, err
    listed = {row["id"] for row in json.loads(out)}
    wanted = {task_of(op).id for _, _, op in OPERATIONS}
    assert len(wanted) == len(OPERATIONS), "two operations share a task"
    assert wanted <= listed, f"missing from list: {sorted(wanted - listed)}"
    assert len({op["operationId"] for _, _, op in OPERATIONS}) == len(OPERATIONS)


def test_each_task_is_the_operation_it_names() -> None:
    for method, path, op in OPERATIONS:
        m = task_of(op)
        assert (m.method, m.path) == (method, path) or (
            m.method == method and path in m.path_templates
        ), f"{m.id} is {m.method} {m.path}, the document says {method} {path}"


def test_list_prints_a_heading_per_resource(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "list")
    assert code == 0
    headings = [line.split(" (")[0] for line in out.splitlines() if line and line[0] != " "]
    resources = {provider_for(m.path).resource(m.id) for m in all_tasks()}
    assert sorted(headings) == sorted(resources) == headings, "one heading each, in order"
    for word in ("meetings", "recordings", "webhooks", "sessions", "presets", "livestreams"):
        assert word in headings
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(rows) == len(all_tasks())


def test_show_prints_the_resource(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "show", "realtimekit.meetings.participants.kick")
    assert code == 0
    assert "  resource: meetings" in out.splitlines()[1]


# -- ids ------------------------------------------------------------------------------------------


def test_every_id_follows_the_rule() -> None:
    for method, path, op in OPERATIONS:
        m = task_of(op)
        assert m.id == realtimekit.task_id(method, path), f"{op['operationId']}: {m.id}"
        assert re.fullmatch(r"realtimekit(\.[a-z0-9_]+){2,}", m.id), m.id
        assert m.id == (shipped_dir() / f"{m.id}.json").stem


def test_the_rule_names_without_the_table_what_the_method_says() -> None:
    named = {(method, realtimekit.relative(path)) for method, path, _ in OPERATIONS} & set(NAMED)
    plain = [(m, p) for m, p, _ in OPERATIONS if (m, realtimekit.relative(p)) not in named]
    assert len(named) < len(OPERATIONS) / 3, "the table is meant for a few exceptions"
    for method, path in plain:
        verb = realtimekit.task_id(method, path).rsplit(".", 1)[-1]
        assert verb in VERBS | {"kick", "kick_all", "mute", "mute_all", "stop"}, (method, path)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/recordings", "realtimekit.recordings.start"),
        ("GET", "/sessions/{session_id}/transcript", "realtimekit.sessions.transcript.get"),
        ("POST", "/presets", "realtimekit.presets.create"),
        (
            "POST",
            "/meetings/{meeting_id}/active-session/kick",
            "realtimekit.meetings.participants.kick",
        ),
        ("GET", "/meetings/{meeting_id}/active-session", "realtimekit.meetings.active_session.get"),
        ("DELETE", "/webhooks/{webhook_id}", "realtimekit.webhooks.delete"),
        ("GET", "/sessions", "realtimekit.sessions.list"),
    ],
)
def test_ids_a_person_would_guess(method: str, path: str, expected: str) -> None:
    live = "/accounts/{account_id}/realtime/kit/{app_id}" + path
    legacy = "/accounts/{account_id}/realtimekit" + path
    assert realtimekit.task_id(method, live) == realtimekit.task_id(method, legacy) == expected


def test_the_apps_have_ids_of_their_own() -> None:
    apps = "/accounts/{account_id}/realtime/kit/apps"
    assert realtimekit.task_id("GET", apps) == "realtimekit.apps.list"
    assert realtimekit.task_id("GET", apps + "/{app_id}") == "realtimekit.apps.get"


# -- resending and paging -------------------------------------------------------------------------


def test_every_post_that_creates_or_starts_is_not_idempotent() -> None:
    creates = 0
    for method, _, op in OPERATIONS:
        m = task_of(op)
        verb = m.id.rsplit(".", 1)[-1]
        codes = {str(c) for c in op.get("responses", {})}
        if method == "POST" and ("201" in codes or verb in {"create", "add", "start"}):
            creates += 1
            assert not m.idempotent, f"{m.id} creates something, yet may be resent"
        if method in {"GET", "PUT", "DELETE"}:
            assert m.idempotent, f"{m.id} is a {method}"
    assert creates >= 10


def test_a_new_token_and_a_new_summary_are_not_resent() -> None:
    for task in ("meetings.participants.refresh_token", "sessions.summary.generate"):
        assert not BY_ID[f"realtimekit.{task}"].idempotent


def test_kick_mute_and_stop_may_be_resent() -> None:
    for task in ("participants.kick", "participants.mute_all", "livestreams.stop"):
        assert BY_ID[f"realtimekit.meetings.{task}"].idempotent


BY_ID = {m.id: m for m in all_tasks()}


def test_every_list_operation_pages() -> None:
    lists = 0
    for _, _, op in OPERATIONS:
        m = task_of(op)
        query = {p.name for p in m.parameters.query}
        if m.id.endswith(".list") and {"page_no", "per_page"} <= query:
            lists += 1
            assert paging_of(m) is not None, f"{m.id} has page parameters but does not page"
            names = {o.name for o in m.outputs}
            assert {"items", "total_count"} <= names, m.id
    assert lists >= 9


def test_a_list_s_items_are_where_the_document_s_example_puts_them() -> None:
    assert {o.name: o.path for o in BY_ID["realtimekit.livestreams.list"].outputs}["items"] == (
        "data"
    )
    sessions = {o.name: o.path for o in BY_ID["realtimekit.sessions.list"].outputs}
    assert sessions["items"] == "data.sessions"


@pytest.mark.parametrize(
    ("task", "outputs"),
    [
        ("presets.create", {"preset_id"}),
        ("recordings.start", {"recording_id", "download_url", "audio_download_url"}),
        ("recordings.get", {"recording_id", "status", "download_url"}),
        ("webhooks.create", {"webhook_id"}),
        ("meetings.livestreams.start", {"livestream_id", "stream_key", "playback_url", "status"}),
        ("meetings.active_session.get", {"session_id"}),
        ("sessions.get", {"session_id"}),
        ("sessions.transcript.get", {"session_id", "transcript_download_url"}),
        ("sessions.summary.get", {"summary_download_url"}),
        ("sessions.chat.get", {"chat_download_url"}),
        ("apps.create", {"app_id"}),
        ("meetings.polls.create", {"poll_id"}),
    ],
)
def test_outputs_a_next_step_needs(task: str, outputs: set[str]) -> None:
    m = BY_ID[f"realtimekit.{task}"]
    names = {o.name for o in m.outputs}
    assert outputs <= names, f"{m.id} lacks {sorted(outputs - names)}"


# -- search ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("start recording", "realtimekit.recordings.start"),
        ("stop recording", "realtimekit.recordings.pause_resume_stop"),
        ("kick", "realtimekit.meetings.participants.kick"),
        ("transcript", "realtimekit.sessions.transcript.get"),
        ("webhook", "realtimekit.webhooks.create"),
        ("preset", "realtimekit.presets.create"),
        ("livestream", "realtimekit.meetings.livestreams.start"),
        ("live stream", "realtimekit.livestreams.list"),
        ("analytics", "realtimekit.analytics.daywise.get"),
        ("mute all", "realtimekit.meetings.participants.mute_all"),
        ("poll", "realtimekit.meetings.polls.create"),
        ("summary", "realtimekit.sessions.summary.generate"),
        ("chat", "realtimekit.sessions.chat.get"),
        ("KickPartcipants", "realtimekit.meetings.participants.kick"),
    ],
)
def test_search_finds_a_task_by_the_words_a_person_types(
    capsys: pytest.CaptureFixture[str], words: str, expected: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["search", *words.split(), "--json"])
    assert info.value.code in (0, None)
    found = [row["id"] for row in json.loads(capsys.readouterr().out)]
    assert expected in found, f"{words!r} found {found[:8]}"


def test_search_puts_the_task_named_by_the_words_first(capsys: pytest.CaptureFixture[str]) -> None:
    for words, first in (
        ("kick", "realtimekit.meetings.participants.kick"),
        ("transcript", "realtimekit.sessions.transcript.get"),
    ):
        with pytest.raises(SystemExit):
            main(["search", words, "--json"])
        assert json.loads(capsys.readouterr().out)[0]["id"] == first


# -- realistic inputs ----------------------------------------------------------------------------

#: What a person fills in, where a generic sample would not be realistic.
REALISTIC: dict[str, dict[str, Any]] = {
    "realtimekit.webhooks.create": {
        "name": "All events",
        "url": "https://example.com/hooks/rtk",
        "events": ["meeting.started", "meeting.ended", "recording.statusUpdate"],
    },
    "realtimekit.meetings.participants.add": {
        "preset_name": "group_call_host",
        "custom_participant_id": "host@example.com",
        "name": "Host",
    },
    "realtimekit.meetings.participants.kick": {
        "participant_ids": ["6e0e8ee3-3b3f-4bd6-a4d9-96d0d8c3d3b1"],
        "custom_participant_ids": [],
    },
    "realtimekit.meetings.polls.create": {"question": "Lunch?", "options": ["Yes", "No"]},
    "realtimekit.recordings.pause_resume_stop": {"action": "stop"},
    "realtimekit.meetings.participants.mute_all": {"allow_unmute": True},
    "realtimekit.apps.create": {"name": "support-calls"},
}


def sample(p: Param) -> Any:
    """A plausible value of a parameter: its default, first valid value or a typed example."""
    if p.default is not None:
        return p.default
    if p.enum:
        return next(v for v in p.enum if v is not None)
    if p.type is ParamType.STRING:
        return {
            "uuid": "9f6c1b2e-8d3a-4f1e-9a7b-2c5d4e6f7a8b",
            "date-time": "2026-07-27T10:00:00Z",
            "uri": "https://example.com/x",
        }.get(p.format or "", f"{p.name}-1")
    if p.type in (ParamType.NUMBER, ParamType.INTEGER):
        return p.minimum if p.minimum is not None else max(1, int(p.maximum or 1))
    if p.type is ParamType.BOOLEAN:
        return True
    if p.type is ParamType.ARRAY:
        return [sample(p.items)] if p.items is not None else []
    return {c.name: sample(c) for c in p.children if c.required}


def inputs_for(m: Manifest) -> dict[str, Any]:
    given: dict[str, Any] = {}
    for loc in ("path", "query", "body"):
        for p in getattr(m.parameters, loc):
            if p.required:
                given[p.name] = sample(p)
    given.update(REALISTIC.get(m.id, {}))
    return given


@pytest.mark.parametrize("m", all_tasks(), ids=lambda m: m.id)
def test_each_task_validates_a_realistic_request(m: Manifest) -> None:
    given = inputs_for(m)
    validate_inputs(m, given)
    body_required = [p.name for p in m.parameters.body if p.required]
    for name in body_required:  # and each required field is needed
        with pytest.raises(InputError, match=re.escape(name)):
            validate_inputs(m, {k: v for k, v in given.items() if k != name})


def test_a_typo_in_a_new_task_s_body_is_caught() -> None:
    m = BY_ID["realtimekit.webhooks.create"]
    with pytest.raises(InputError) as info:
        validate_inputs(m, {**inputs_for(m), "acount_id": "a", "evnts": []})
    assert "evnts" in str(info.value.problems)


def test_the_unpublished_replace_participant_body_takes_no_fields() -> None:
    m = BY_ID["realtimekit.meetings.participants.replace"]
    assert m.parameters.body == ()
    validate_inputs(m, inputs_for(m))


# -- shipped == sources ---------------------------------------------------------------------------


def test_rebuild_check_covers_every_task_and_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "manifest", "rebuild", "--check")
    assert code in (0, None), err
    lines = out.splitlines()
    assert len(lines) == len(list(shipped_dir().glob("*.json")))
    assert all(line.startswith("ok ") for line in lines), [x for x in lines if "ok" not in x]
    for _, _, op in OPERATIONS:
        file = shipped_dir() / f"{task_of(op).id}.json"
        assert rebuild(file).manifest.to_json() == file.read_text(encoding="utf-8")
