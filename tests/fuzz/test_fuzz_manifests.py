"""Random and mutated manifests: loading raises only ManifestError, and a manifest that
loads is one the request builder can use (its host stays the base URL's)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtk_task.errors import ManifestError, RtkError
from rtk_task.manifests import registry
from rtk_task.manifests.model import Manifest
from rtk_task.manifests.registry import shipped_dir
from rtk_task.request import build_request

from .strategies import BOUNDED, JSON, paths_into, replaced

BASE = "http://127.0.0.1:9/client/v4"


@cache
def _shipped() -> tuple[dict[str, Any], tuple[tuple[Any, ...], ...]]:
    data = json.loads((shipped_dir() / "realtimekit.meetings.create.json").read_text())
    return data, tuple(paths_into(data))


def _check_loaded(manifest: Manifest) -> None:
    """A manifest that loaded keeps the host, whatever its path says."""
    try:
        request = build_request(manifest, {"account_id": "a"}, base_url=BASE, token=None)
    except RtkError:
        return  # inputs this manifest needs and does not get: our error, nothing sent
    assert request.url.startswith(BASE + "/"), request.url


@BOUNDED
@given(JSON)
def test_random_json_loads_or_raises_only_manifest_errors(value: Any) -> None:
    text = json.dumps(value)  # NaN and Infinity included: they must be refused
    try:
        manifest = Manifest.from_json(text, "fuzz.json")
    except ManifestError as exc:
        where = exc.first.where
    else:
        _check_loaded(manifest)
        return
    assert where.startswith("fuzz.json"), where


@BOUNDED
@given(st.data())
def test_a_mutated_manifest_loads_or_raises_only_manifest_errors(data: st.DataObject) -> None:
    original, paths = _shipped()
    mutated: Any = original
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        at = data.draw(st.sampled_from(paths), label="at")
        value = data.draw(
            JSON | st.sampled_from(["HOME", "@127.0.0.2:8080/steal", "//x", "X Y: z"]),
            label="value",
        )
        try:
            mutated = replaced(mutated, at, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    try:
        manifest = Manifest.from_json(json.dumps(mutated), "fuzz.json")
    except ManifestError:
        return
    assert manifest.auth.env.upper().endswith(("TOKEN", "KEY", "SECRET"))
    _check_loaded(manifest)


@BOUNDED
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_in_a_manifest_folder_never_break_the_registry(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    folder = tmp_path_factory.mktemp("manifests")
    (folder / "random.json").write_bytes(raw)
    task_id, why = registry._id_of(folder / "random.json")
    assert task_id is None or isinstance(task_id, str)
    assert task_id is not None or why


def test_a_broken_manifest_file_is_a_manifest_error(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_bytes(b"\xff\xfe{")
    with pytest.raises(ManifestError, match="UTF-8"):
        Manifest.from_file(file)
