"""Manifests are validated when loaded: a token variable, a header name, a path that keeps
the host; a broken manifest in a user's folder is skipped with a warning naming it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from rtk_task.errors import ManifestError
from rtk_task.manifests.model import Auth, Manifest
from rtk_task.manifests.registry import load_task, shipped_dir
from rtk_task.request import build_request
from rtk_task.secrets import Redactor

from ..helpers import CANARY, run_cli

BASE = "http://127.0.0.1:9/client/v4"
HOSTILE_HEADER = "X-Auth: x' ; touch /tmp/rtk-pwned ; echo '"


def _data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (shipped_dir() / "realtimekit.meetings.create.json").read_text()
    )
    data.update(changes)
    return data


def _load(**changes: Any) -> Manifest:
    return Manifest.from_json(json.dumps(_data(**changes)), "m.json")


@pytest.mark.parametrize("env", ["HOME", "PATH", "not a name", "X-TOKEN", ""])
def test_auth_env_must_name_a_token_variable(env: str) -> None:
    with pytest.raises(ManifestError) as err:
        _load(auth={"type": "bearer", "env": env})
    # a bad name is the field's problem; a missing one the scheme's
    assert err.value.first.where == ("m.json: auth.env" if env else "m.json: auth")
    assert err.value.first.hint


@pytest.mark.parametrize("env", ["MY_API_TOKEN", "STRIPE_KEY", "app_secret", "TOKEN"])
def test_token_like_variables_are_accepted(env: str) -> None:
    assert _load(auth={"env": env}).auth.env == env


@pytest.mark.parametrize("header", [HOSTILE_HEADER, "X Auth", "Host", "content-length", ""])
def test_auth_header_must_be_a_header_name(header: str) -> None:
    with pytest.raises(ManifestError, match=r"auth\.header"):
        _load(auth={"header": header})


@pytest.mark.parametrize(
    "path",
    [
        "@127.0.0.2:8080/steal",
        "//127.0.0.2/steal",
        "meetings",
        "/meetings?x=1",
        "/a#b",
        "/a b",
        "/a\\b",
        "/a@b",
    ],
)
def test_a_path_must_start_with_a_slash_and_keep_the_host(path: str) -> None:
    with pytest.raises(ManifestError, match=r"m\.json: path"):
        _load(path=path)
    with pytest.raises(ManifestError, match="alternate_paths"):
        _load(alternate_paths=[path])


def test_the_request_builder_refuses_a_url_on_another_host() -> None:
    # a manifest made in Python without validation: the builder checks the host itself
    good = load_task("realtimekit.meetings.create")
    bad = good.model_copy(update={"path": "@127.0.0.2:8080/steal", "alternate_paths": ()})
    with pytest.raises(ManifestError) as err:
        build_request(bad, {"account_id": "a"}, base_url="http://127.0.0.1:9", token=None)
    assert "127.0.0.2" in err.value.first.message
    # the same manifest with a proper path builds on the base URL's host
    ok = build_request(good, {"account_id": "a"}, base_url="http://127.0.0.1:9", token=None)
    assert ok.url.startswith("http://127.0.0.1:9/")


def test_curl_quotes_a_hostile_auth_header() -> None:
    good = load_task("realtimekit.meetings.create")
    auth = Auth.model_construct(type="bearer", header=HOSTILE_HEADER, env="CLOUDFLARE_API_TOKEN")
    hostile = good.model_copy(update={"auth": auth})
    request = build_request(
        hostile, {"account_id": "a", "title": "t"}, base_url=BASE, token=SecretStr(CANARY)
    )
    text = request.curl(Redactor([CANARY]))
    words = shlex.split(text.replace("\\\n", " "))
    assert f"{HOSTILE_HEADER}: Bearer $CLOUDFLARE_API_TOKEN" in words, words
    assert "touch" not in words
    assert ";" not in words
    assert CANARY not in text


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "utf8.json").write_bytes(b"\xff\xfe{")
    (folder / "json.json").write_text("{", encoding="utf-8")
    (folder / "home.json").write_text(
        json.dumps(_data(id="my.home", auth={"env": "HOME"})), encoding="utf-8"
    )
    (folder / "steal.json").write_text(
        json.dumps(_data(id="my.steal", path="@127.0.0.2:8080/steal")), encoding="utf-8"
    )
    deep = "[" * 5000 + "]" * 5000
    (folder / "deep.json").write_text(
        json.dumps(_data(id="my.deep"))[:-1] + f', "response_schema": {{"x": {deep}}}}}',
        encoding="utf-8",
    )
    (folder / "fine.json").write_text(json.dumps(_data(id="my.fine")), encoding="utf-8")
    return folder


def test_list_skips_broken_manifests_with_a_warning_naming_each(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    done = run_cli("list", env={"RTK_MANIFEST_PATH": str(folder)})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "my.fine" in done.stdout
    for name in ("utf8", "json", "home", "steal", "deep"):
        line = next((ln for ln in done.stderr.splitlines() if f"{name}.json" in ln), None)
        assert line is not None, (name, done.stderr)
        assert "skipped" in line, line
    assert "my.home" not in done.stdout
    assert "my.steal" not in done.stdout


def test_show_names_the_token_variable() -> None:
    done = run_cli("show", "realtimekit.meetings.create")
    assert done.returncode == 0, done.stderr
    assert "$CLOUDFLARE_API_TOKEN" in done.stdout
