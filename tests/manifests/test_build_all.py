"""``rtk-task manifest build --openapi FILE --all -o DIR``: a whole document, end to end.

A folder of manifests and ``provider.json``, a summary naming each refused operation with its
reason, nothing written when nothing builds or the folder cannot be written, and the folder
usable at once through ``RTK_MANIFEST_PATH``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rtk_task.errors import FileError
from rtk_task.manifests.document import PROVIDER_FILE, build_all
from rtk_task.manifests.model import Manifest
from rtk_task.manifests.registry import shipped_dir, sources_dir

from ..helpers import run_cli

REF = "#/components/schemas/"


def shop(**extra_paths: Any) -> dict[str, Any]:
    """A small shop API: three good operations, plus ``extra_paths``."""
    item = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ok = {"description": "ok", "content": {"application/json": {"schema": {"$ref": REF + "Item"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Corner Shop API", "version": "2.1"},
        "servers": [{"url": "https://shop.example/api"}],
        "security": [{"key": []}],
        "paths": {
            "/items": {
                "get": {
                    "operationId": "items/list",
                    "summary": "List the items.",
                    "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {"200": ok},
                },
                "post": {
                    "operationId": "createItem",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": REF + "Item"}}}
                    },
                    "responses": {"201": ok},
                },
            },
            "/items/{item_id}": {
                "parameters": [item],
                "get": {"operationId": "getItem", "summary": "One item.", "responses": {"200": ok}},
            },
            **extra_paths,
        },
        "components": {
            "schemas": {
                "Item": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                }
            },
            "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Shop-Key"}},
        },
    }


BROKEN = {
    "/broken": {
        "post": {
            "operationId": "brokenOne",
            "requestBody": {"content": {"application/json": {"schema": {"$ref": REF + "Nope"}}}},
        }
    }
}


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    file = tmp_path / "shop.json"
    file.write_text(json.dumps(doc), encoding="utf-8")
    return file


def test_every_operation_is_built_into_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    done = run_cli(
        "manifest", "build", "--openapi", str(write(tmp_path, shop())), "--all", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"built 3 of 3 operations into {out}; 0 refused\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "corner_shop.create_item.json",
        "corner_shop.get_item.json",
        "corner_shop.items.list.json",
        PROVIDER_FILE,
    ], "operationId `items/list` gives the id corner_shop.items.list"
    got = Manifest.from_file(out / "corner_shop.get_item.json")
    assert (got.provider, got.method, got.path) == ("corner_shop", "GET", "/items/{item_id}")
    assert (got.auth.type, got.auth.name, got.auth.env) == (
        "api_key",
        "X-Shop-Key",
        "CORNER_SHOP_API_KEY",
    )
    assert [o.name for o in got.outputs][:1] == ["item_id"], "the noun comes from the path"
    provider = json.loads((out / PROVIDER_FILE).read_text(encoding="utf-8"))
    assert provider["name"] == "corner_shop"
    assert provider["hosts"] == ["shop.example"]
    assert provider["security_schemes"]["key"]["type"] == "api_key"
    assert provider["operations"] == {"total": 3, "built": 3, "refused": 0}


def test_a_refused_operation_is_named_with_its_reason_and_the_others_build(tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = write(tmp_path, shop(**BROKEN))
    done = run_cli("manifest", "build", "--openapi", str(spec), "--all", "-o", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"built 3 of 4 operations into {out}; 1 refused"
    assert lines[1:] == [
        "  refused POST /broken (brokenOne): requestBody: $ref '#/components/schemas/Nope' "
        "does not resolve"
    ]
    assert len(list(out.glob("corner_shop.*.json"))) == 3


def test_nothing_built_writes_nothing_and_exits_2(tmp_path: Path) -> None:
    doc = shop()
    doc["paths"] = BROKEN
    out = tmp_path / "out"
    done = run_cli(
        "manifest", "build", "--openapi", str(write(tmp_path, doc)), "--all", "-o", str(out)
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith(f"built 0 of 1 operations into {out}; 1 refused\n")
    assert not out.exists(), "no folder, no provider.json"


def test_a_folder_that_cannot_be_written_is_an_error_before_anything(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(FileError, match="is not a folder"):
        build_all(write(tmp_path, shop()), blocker)
    done = run_cli(
        "manifest",
        "build",
        "--openapi",
        str(write(tmp_path, shop())),
        "--all",
        "-o",
        str(blocker / "sub"),
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: "), done.stderr
    assert blocker.read_text(encoding="utf-8") == "x"


def test_the_folder_is_usable_through_rtk_manifest_path(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_all(write(tmp_path, shop(**BROKEN)), out)
    env = {"RTK_MANIFEST_PATH": str(out)}
    listed = run_cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    for task_id in ("corner_shop.create_item", "corner_shop.get_item", "corner_shop.items.list"):
        assert task_id in listed.stdout
    assert PROVIDER_FILE not in listed.stderr  # the folder's own provider file: no warning
    assert "Traceback" not in listed.stderr
    shown = run_cli("show", "corner_shop.get_item", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "GET /items/{item_id}" in shown.stdout
    assert "X-Shop-Key" in shown.stdout


def test_ids_by_path_and_repeated_operation_ids(tmp_path: Path) -> None:
    doc = shop()
    doc["paths"]["/items/{item_id}"]["delete"] = {"operationId": "getItem", "responses": {}}
    doc["paths"]["/items/{item_id}"]["put"] = {"responses": {}}
    summary = build_all(write(tmp_path, doc), tmp_path / "a", name="Shop")
    assert summary.built == (
        "shop.items.list",
        "shop.create_item",
        "shop.get_item",
        "shop.items.replace",
        "shop.get_item_2",
    ), "a repeated operationId gets _2; one without takes the path rule"
    by_path = build_all(write(tmp_path, doc), tmp_path / "b", id_rule="path")
    assert by_path.built == (
        "corner_shop.items.list",
        "corner_shop.items.create",
        "corner_shop.items.get",
        "corner_shop.items.replace",
        "corner_shop.items.delete",
    )


def test_the_shipped_document_builds_the_shipped_tasks(tmp_path: Path) -> None:
    """Paths a built-in provider owns, on its hosts, are built for it: with path ids, every
    RealtimeKit operation is its shipped manifest (the one overlaid on a docs page aside)."""
    summary = build_all(sources_dir() / "realtimekit.openapi.json", tmp_path, id_rule="path")
    assert not summary.refused
    shipped = {p.stem for p in shipped_dir().glob("realtimekit.*.json")}
    assert set(summary.built) == shipped
    for task_id in ("realtimekit.meetings.get", "realtimekit.recordings.start"):
        built = Manifest.from_file(tmp_path / f"{task_id}.json")
        assert built == Manifest.from_file(shipped_dir() / f"{task_id}.json"), task_id
