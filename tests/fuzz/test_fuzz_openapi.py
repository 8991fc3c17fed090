"""OpenAPI documents of the wrong shape are OpenAPIErrors, never another exception.

Named cases (``allOf: 5``, ``properties: [1]``, ``paths: []``, a ``$ref`` to nowhere, a
``$ref`` loop, ...) through the library and ``manifest build``; then the shipped reference
document mutated at random nodes (hypothesis, bounded).
"""

from __future__ import annotations

import contextlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtk_task.errors import OpenAPIError
from rtk_task.manifests.openapi import OpenAPIDocument
from rtk_task.manifests.registry import sources_dir

from ..helpers import run_cli
from .strategies import BOUNDED, JSON, paths_into, replaced


def _doc(schema: Any = None, **top: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": "op", "responses": {"200": {"description": "ok"}}}
    if schema is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    return {"openapi": "3.0.3", "paths": {"/x": {"post": op}}, **top}


REF = "#/components/schemas/"
CASES = {
    "allOf-5": _doc({"allOf": 5}),
    "allOf-of-numbers": _doc({"allOf": [5, 6]}),
    "properties-list": _doc({"type": "object", "properties": [1]}),
    "property-not-schema": _doc({"type": "object", "properties": {"a": 5}}),
    "ref-to-nowhere": _doc({"$ref": REF + "Nope"}),
    "ref-not-string": _doc({"$ref": 5}),
    "ref-loop": _doc(
        {"$ref": REF + "A"},
        components={"schemas": {"A": {"$ref": REF + "B"}, "B": {"$ref": REF + "A"}}},
    ),
    "required-number": _doc({"type": "object", "required": 5, "properties": {}}),
    "enum-number": _doc({"type": "object", "properties": {"a": {"type": "string", "enum": 5}}}),
    "content-list": _doc() | {"paths": {"/x": {"post": {"requestBody": {"content": [1]}}}}},
    "parameters-number": {"openapi": "3.0.3", "paths": {"/x": {"parameters": 5, "get": {}}}},
    "parameter-list-of-numbers": {
        "openapi": "3.0.3",
        "paths": {"/x": {"get": {"parameters": [5]}}},
    },
    "responses-list": {"openapi": "3.0.3", "paths": {"/x": {"get": {"responses": [1]}}}},
    "servers-strings": _doc(servers=["http://x"]),
    "security-number": _doc(security=5),
}


def test_a_schema_that_contains_itself_through_all_of_is_cut_not_an_error(
    tmp_path: Path,
) -> None:
    data = _doc(
        {"$ref": REF + "A"},
        components={"schemas": {"A": {"allOf": [{"$ref": REF + "A"}], "type": "object"}}},
    )
    file = tmp_path / "spec.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    operation = OpenAPIDocument.load(file).operation("op")
    assert operation.parameters.body == ()


def _operation_of(data: dict[str, Any]) -> str:
    for path, item in data["paths"].items():
        for method in ("get", "post"):
            if method in item:
                return str(item[method].get("operationId") or f"{method.upper()} {path}")
    return "op"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_malformed_operation_is_an_openapi_error(name: str, tmp_path: Path) -> None:
    data = CASES[name]
    file = tmp_path / "spec.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(OpenAPIError) as err:
        OpenAPIDocument.load(file).operation(_operation_of(data))
    assert err.value.first.where.startswith(str(file)), err.value.first
    assert err.value.first.message


@pytest.mark.parametrize(
    "text",
    [
        '{"openapi": "3.0.3", "paths": []}',
        '{"openapi": "3.0.3", "paths": {}, "components": 5}',
        '{"openapi": "3.0.3", "x": NaN, "paths": {}}',
        '{"openapi": "3.0.3", "paths": ' + "[" * 5000 + "]" * 5000 + "}",
    ],
    ids=["paths-list", "components-number", "nan", "deep"],
)
def test_a_malformed_document_is_refused_when_loaded(text: str, tmp_path: Path) -> None:
    file = tmp_path / "spec.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(OpenAPIError) as err:
        OpenAPIDocument.load(file)
    assert err.value.first.where.startswith(str(file))


def test_a_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["openapi: 3.0.3", "paths: {}", 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    file = tmp_path / "spec.yaml"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(OpenAPIError, match="aliases"):
        OpenAPIDocument.load(file)


@pytest.mark.parametrize("name", ["allOf-5", "properties-list", "ref-loop", "ref-to-nowhere"])
def test_manifest_build_reports_a_malformed_document_without_a_traceback(
    name: str, tmp_path: Path
) -> None:
    file = tmp_path / "spec.json"
    file.write_text(json.dumps(CASES[name]), encoding="utf-8")
    done = run_cli("manifest", "build", "--openapi", str(file), "--operation", "op")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert str(file) in done.stderr


# -- the reference document, mutated ----------------------------------------------------------


@cache
def _reference() -> tuple[dict[str, Any], tuple[tuple[Any, ...], ...], tuple[str, ...]]:
    doc = OpenAPIDocument.load(sources_dir() / "realtimekit.openapi.json")
    ops = tuple(op["operationId"] for _, _, op in doc.operations())
    return doc.data, tuple(paths_into(doc.data)), ops


@BOUNDED
@given(st.data())
def test_a_mutated_reference_document_raises_only_openapi_errors(data: st.DataObject) -> None:
    original, paths, ops = _reference()
    mutated: Any = original
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        at = data.draw(st.sampled_from(paths), label="at")
        try:
            mutated = replaced(mutated, at, data.draw(JSON, label="value"))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    if not isinstance(mutated, dict):
        return
    doc = OpenAPIDocument(mutated, "fuzz.json", "0" * 64)
    for op in data.draw(st.lists(st.sampled_from(ops), min_size=1, max_size=3), label="ops"):
        with contextlib.suppress(OpenAPIError):  # our error is fine; any other fails
            doc.operation(op)
