"""The command line for manifests and inputs: build, rebuild, show, schema, validate.

Exit codes and "no traceback" are checked on the real entry point in a subprocess; the rest
calls the same ``main`` in-process, which is faster and prints the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rtk_task.cli import main
from rtk_task.cli.describe import describe
from rtk_task.inputs import input_schema
from rtk_task.manifests.build import build_manifest
from rtk_task.manifests.model import Manifest, Param, Parameters, ParamType
from rtk_task.manifests.registry import load_task, shipped_dir, sources_dir

SEED = sources_dir() / "realtimekit.meetings.create.txt"
SPEC = sources_dir() / "realtimekit.openapi.json"
PAGES = Path(__file__).parent.parent / "pages"
HEADER = "Name | Type | Required | Description |\n---|---|---|---|\n"
#: Four mistakes on four rows (lines 6, 9, 10 and 13 of the page).
BROKEN = (
    "POST /things\nCreate a thing.\nRequest body fields\n" + HEADER + "count |\nInt | No | |\n"
    "parent.child |\nString | No | |\n"
    'limit |\nInteger | No | Default value: "ten" |\n'
    "limit |\nInteger | No | |\n"
)
NINE = (
    "'general', 'team_meeting', 'sales_call', 'client_check_in', 'interview', "
    "'daily_standup', 'one_on_one_meeting', 'lecture' or 'code_review'"
)


def run(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("RTK_MANIFEST_PATH", None)
    return subprocess.run(
        [sys.executable, "-c", "from rtk_task.cli import main; main()", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main`` in-process: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), out, err


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr


def write(tmp_path: Path, name: str, data: Any) -> Path:
    file = tmp_path / name
    file.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return file


# -- manifest build -------------------------------------------------------------------------------


def test_build_prints_the_manifest_of_the_seed_page() -> None:
    result = run("manifest", "build", str(SEED))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == build_manifest(SEED).manifest.to_json()
    data = json.loads(result.stdout)
    assert (data["method"], data["path"]) == ("POST", "/accounts/{account_id}/realtimekit/meetings")
    assert data["servers"] == ["https://api.cloudflare.com/client/v4"]


def test_build_overlay_prints_the_shipped_manifest_and_the_drift(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = call(capsys, "manifest", "build", str(SEED), "--openapi", str(SPEC))
    assert code == 0, err
    shipped = shipped_dir() / "realtimekit.meetings.create.json"
    assert out == shipped.read_text(encoding="utf-8")
    assert err.splitlines() == [
        f"drift between {SEED} and {SPEC} (the page wins):",
        "  path: the page's path is legacy; live: "
        "/accounts/{account_id}/realtime/kit/{app_id}/meetings",
        "  path:app_id: only in the OpenAPI operation (added)",
        "  header:Content-Type: only in the docs page",
        "  body:preferred_region: only in the docs page",
        "  body:transcribe_on_end: only in the OpenAPI operation (added)",
    ]


@pytest.mark.parametrize(
    "operation",
    [
        "get_meeting",
        "GET /accounts/{account_id}/realtime/kit/{app_id}/meetings/{meeting_id}",
        "GET /accounts/{account_id}/realtimekit/meetings/{meeting_id}",
    ],
)
def test_build_from_openapi_alone(capsys: pytest.CaptureFixture[str], operation: str) -> None:
    code, out, err = call(
        capsys, "manifest", "build", "--openapi", str(SPEC), "--operation", operation
    )
    assert code == 0, err
    assert out == (shipped_dir() / "realtimekit.meetings.get.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", sorted(PAGES.glob("*.txt")), ids=lambda p: p.stem)
def test_build_other_pages_writes_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, page: Path
) -> None:
    out_file = tmp_path / "out.json"
    code, out, err = call(capsys, "manifest", "build", str(page), "-o", str(out_file))
    assert code == 0, err
    assert out == ""
    built = build_manifest(page).manifest
    assert err == f"wrote {out_file} ({built.id})\n"
    assert out_file.read_text(encoding="utf-8") == built.to_json()


def test_build_twice_writes_identical_bytes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    for target in (first, second):
        code, _, err = call(
            capsys, "manifest", "build", str(SEED), "--openapi", str(SPEC), "-o", str(target)
        )
        assert code == 0, err
    assert first.read_bytes() == second.read_bytes()


def test_a_broken_page_exits_2_with_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    page = write(tmp_path, "broken.txt", BROKEN)
    out_file = tmp_path / "out.json"
    result = run("manifest", "build", str(page), "-o", str(out_file))
    assert_clean_failure(result)
    for line, message in [
        (7, "unknown type 'Int' for 'count'"),
        (8, "'parent.child' comes before its parent 'parent'"),
        (10, "the default of 'limit', \"ten\", is not an integer"),
        (12, "duplicate body parameter 'limit' (first at line 10)"),
    ]:
        assert f"{page}:{line}: {message}" in result.stderr, result.stderr
    assert result.stderr.count("hint: ") == 4, result.stderr
    assert not out_file.exists(), "a broken page produced a file"
    assert result.stdout == ""


def test_a_broken_page_leaves_an_existing_output_untouched(tmp_path: Path) -> None:
    page = write(tmp_path, "broken.txt", BROKEN)
    out_file = write(tmp_path, "out.json", '{"keep": "me"}\n')
    result = run("manifest", "build", str(page), "-o", str(out_file))
    assert_clean_failure(result)
    assert out_file.read_text(encoding="utf-8") == '{"keep": "me"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.txt", "out.json"], (
        "a temporary file was left behind"
    )


def test_a_name_clash_exits_2(tmp_path: Path) -> None:
    page = write(
        tmp_path,
        "clash.txt",
        "POST /things\nCreate.\n"
        f"Query parameters\n{HEADER}dry_run |\nBoolean | No | |\n"
        f"Request body fields\n{HEADER}dry_run |\nBoolean | No | |\n",
    )
    result = run("manifest", "build", str(page))
    assert_clean_failure(result)
    assert "body parameter 'dry_run' clashes with the query parameter" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("manifest", "build"), "nothing to build from"),
        (("manifest", "build", "missing.txt"), "missing.txt: cannot read"),
        (("manifest", "build", "--openapi", str(SPEC)), "--openapi alone needs --operation"),
        (
            ("manifest", "build", "--openapi", str(SPEC), "--operation", "get_meetin"),
            "did you mean 'get_meeting'?",
        ),
    ],
    ids=["no-source", "missing-page", "no-operation", "unknown-operation"],
)
def test_build_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run(*args, cwd=tmp_path)
    assert_clean_failure(result)
    assert message in result.stderr


# -- manifest rebuild -----------------------------------------------------------------------------


def test_rebuild_check_passes_on_the_shipped_manifests() -> None:
    result = run("manifest", "rebuild", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(list(shipped_dir().glob("*.json")))
    assert all(line.startswith("ok ") for line in lines), result.stdout


def copy_shipped(tmp_path: Path) -> Path:
    (tmp_path / "sources").mkdir()
    for source in sources_dir().iterdir():
        shutil.copy(source, tmp_path / "sources" / source.name)
    target = tmp_path / "realtimekit.meetings.create.json"
    shutil.copy(shipped_dir() / target.name, target)
    return target


def test_rebuild_check_fails_on_an_altered_manifest_and_writes_nothing(tmp_path: Path) -> None:
    file = copy_shipped(tmp_path)
    original = file.read_text(encoding="utf-8")
    altered = original.replace('"maximum": 1000', '"maximum": 2000')
    assert altered != original
    file.write_text(altered, encoding="utf-8")
    result = run("manifest", "rebuild", "--check", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("differs "), result.stdout
    assert "1 manifest(s) differ from their sources" in result.stderr
    assert file.read_text(encoding="utf-8") == altered, "--check wrote the file"


def test_rebuild_writes_the_manifest_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = copy_shipped(tmp_path)
    original = file.read_text(encoding="utf-8")
    file.write_text(original.replace('"default": 500', '"default": 1'), encoding="utf-8")
    code, _, err = call(capsys, "manifest", "rebuild", str(tmp_path))
    assert code == 0, err
    assert file.read_text(encoding="utf-8") == original


def test_rebuild_of_a_source_that_is_now_broken_exits_2(tmp_path: Path) -> None:
    copy_shipped(tmp_path)
    page = tmp_path / "sources" / SEED.name
    page.write_text(page.read_text(encoding="utf-8").replace("Boolean | Yes |", "Bool | Yes |"))
    result = run("manifest", "rebuild", "--check", str(tmp_path))
    assert_clean_failure(result)
    assert f"{page}:" in result.stderr
    assert "unknown type 'Bool'" in result.stderr


# -- validate -------------------------------------------------------------------------------------


def test_validate_names_a_misspelt_nested_field_and_suggests_the_right_one() -> None:
    body = '{"account_id": "a", "ai_config": {"summarization": {"word_limt": 300}}}'
    result = run("validate", "realtimekit.meetings.create", "--with", "-", stdin=body)
    assert_clean_failure(result)
    assert result.stderr == (
        "error: ai_config.summarization.word_limt: unknown field\n"
        "  hint: did you mean 'word_limit'?\n"
    )


def test_validate_lists_the_nine_summary_types() -> None:
    body = '{"account_id": "a", "ai_config": {"summarization": {"summary_type": "weekly"}}}'
    result = run("validate", "realtimekit.meetings.create", "--with", "-", stdin=body)
    assert_clean_failure(result)
    assert f"ai_config.summarization.summary_type: Input should be {NINE}" in result.stderr


def test_validate_accepts_a_realistic_full_body(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = PAGES / "create_meeting_inputs.json"
    code, out, err = call(capsys, "validate", "realtimekit.meetings.create", "--with", str(file))
    assert (code, out, err) == (0, "OK\n", "")


def test_validate_json_lists_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = write(
        tmp_path,
        "inputs.json",
        {"ai_config": {"summarization": {"word_limit": 10}, "transcription": {"keywords": [1]}}},
    )
    code, out, _ = call(
        capsys, "validate", "realtimekit.meetings.create", "--with", str(file), "--json"
    )
    assert code == 2
    data = json.loads(out)
    assert data["ok"] is False
    assert [p["where"] for p in data["problems"]] == [
        "account_id",
        "ai_config.transcription.keywords[0]",
        "ai_config.summarization.word_limit",
    ]


def test_validate_reports_a_json_syntax_error_with_its_position(tmp_path: Path) -> None:
    file = write(tmp_path, "inputs.json", '{\n  "account_id": "a",\n}\n')
    result = run("validate", "realtimekit.meetings.create", "--with", str(file))
    assert_clean_failure(result)
    assert f"{file}:3:1: not JSON" in result.stderr


def test_an_unknown_task_exits_2_with_a_suggestion() -> None:
    result = run("show", "realtimekit.meetings.creat")
    assert_clean_failure(result)
    assert "did you mean 'realtimekit.meetings.create'?" in result.stderr


# -- schema and show ------------------------------------------------------------------------------


def test_schema_prints_the_input_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "schema", "realtimekit.meetings.create")
    assert code == 0, err
    schema = json.loads(out)
    assert schema == input_schema(load_task("realtimekit.meetings.create"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    word_limit = schema["properties"]["ai_config"]["properties"]["summarization"]["properties"][
        "word_limit"
    ]
    assert (word_limit["minimum"], word_limit["maximum"], word_limit["default"]) == (150, 1000, 500)


def test_show_describes_the_task(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "show", "realtimekit.meetings.create")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == [
        "realtimekit.meetings.create: Create a meeting for the given organization ID.",
        "  resource: meetings",
        "  POST /accounts/{account_id}/realtimekit/meetings",
    ]
    assert "  account_id  (string; required)  The account identifier tag." in lines
    assert (
        "      word_limit  (integer; default 500; range 150..1000)  "
        "Sets the maximum number of words in the meeting summary."
    ) in lines
    assert (
        "      keywords  (array of string)  "
        "Adds specific terms to improve accurate detection during transcription."
    ) in lines
    assert any(line.startswith("  title  (string | null)") for line in lines), out
    assert "  meeting_id <- data.id" in lines


def test_show_json_is_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "show", "realtimekit.meetings.create", "--json")
    assert code == 0
    assert out == (shipped_dir() / "realtimekit.meetings.create.json").read_text(encoding="utf-8")


def test_show_of_a_manifest_file_with_arrays_of_objects(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    file = tmp_path / "projects.create.json"
    file.write_text(
        build_manifest(PAGES / "create_project.txt").manifest.to_json(), encoding="utf-8"
    )
    code, out, err = call(capsys, "show", str(file))
    assert code == 0, err
    lines = out.splitlines()
    assert (
        '  tags  (array of string; items one of "internal", "customer", "experimental"; '
        "required)  Labels for the project; at least one." in lines
    )
    assert "  items  (array of object; required)  The work items to start with." in lines
    assert "    name  (string; required)  The item's title." in lines
    assert "    quantity  (integer; default 1)  How many of the item." in lines


def test_show_keeps_null_on_a_nullable_array() -> None:
    tags = Param(
        name="tags",
        type=ParamType.ARRAY,
        nullable=True,
        items=Param(name="[]", type=ParamType.STRING),
    )
    m = Manifest(
        id="things.create",
        method="POST",
        path="/things",
        idempotent=False,
        parameters=Parameters(body=(tags,)),
    )
    assert "  tags  (array of string | null)" in describe(m).splitlines()
