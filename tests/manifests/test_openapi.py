"""Reading one operation out of an OpenAPI 3 document: finding it, its parameters and body."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from rtk_task.errors import OpenAPIError
from rtk_task.manifests.model import Param, ParamType
from rtk_task.manifests.openapi import OpenAPIDocument
from rtk_task.manifests.registry import sources_dir
from rtk_task.providers.cloudflare import realtimekit

live_path, legacy_path = realtimekit.canonical_path, realtimekit.legacy_path

SPEC = sources_dir() / "realtimekit.openapi.json"
LIVE = "/accounts/{account_id}/realtime/kit/{app_id}/meetings"
LEGACY = "/accounts/{account_id}/realtimekit/meetings"


@pytest.fixture(scope="module")
def spec() -> OpenAPIDocument:
    return OpenAPIDocument.load(SPEC)


def node(params: tuple[Param, ...], dotted: str) -> Param:
    found: Param | None = None
    nodes = params
    for part in dotted.split("."):
        found = next((p for p in nodes if p.name == part), None)
        assert found is not None, f"no {part!r} on the way to {dotted!r}"
        nodes = found.children
    assert found is not None
    return found


def write_spec(tmp_path: Path, paths: dict[str, Any], **extra: Any) -> Path:
    """A minimal OpenAPI 3.0 document with ``paths`` (and ``components`` etc. in ``extra``)."""
    file = tmp_path / "api.json"
    doc = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths, **extra}
    file.write_text(json.dumps(doc), encoding="utf-8")
    return file


def post_with_body(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "/things": {
            "post": {
                "operationId": "make",
                "requestBody": {"content": {"application/json": {"schema": schema}}},
                "responses": {"201": {"description": "made"}},
            }
        }
    }


# -- finding an operation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "get_meeting",
        f"GET {LIVE}/{{meeting_id}}",
        f"get {LIVE}/{{meeting_id}}",
        f"GET {LEGACY}/{{meeting_id}}",
    ],
    ids=["operationId", "method-and-live-path", "lowercase-method", "legacy-path"],
)
def test_an_operation_is_found_by_id_by_path_and_by_legacy_path(
    spec: OpenAPIDocument, name: str
) -> None:
    op = spec.operation(name)
    assert (op.operation_id, op.method, op.path) == ("get_meeting", "GET", f"{LIVE}/{{meeting_id}}")


def test_an_unknown_operation_suggests_the_closest(spec: OpenAPIDocument) -> None:
    with pytest.raises(OpenAPIError) as info:
        spec.operation("get_meetin")
    assert info.value.first.message == "no operation 'get_meetin'"
    assert info.value.first.hint == "did you mean 'get_meeting'?"


def test_a_far_off_operation_lists_them_all(spec: OpenAPIDocument) -> None:
    with pytest.raises(OpenAPIError) as info:
        spec.operation("DELETE /nowhere")
    assert "create_meeting" in info.value.first.hint
    assert "get_all_meetings" in info.value.first.hint


def test_live_and_legacy_paths_map_both_ways() -> None:
    assert live_path(LEGACY) == LIVE
    assert legacy_path(LIVE) == LEGACY
    assert live_path(f"{LEGACY}/{{meeting_id}}") == f"{LIVE}/{{meeting_id}}"
    assert live_path("/zones/{zone_id}") == "/zones/{zone_id}", "an unrelated path changed"
    assert legacy_path("/zones/{zone_id}") == "/zones/{zone_id}"


# -- what an operation says -------------------------------------------------------------------


def test_get_meeting_merges_path_level_and_operation_parameters(spec: OpenAPIDocument) -> None:
    op = spec.operation("get_meeting")
    assert [(p.name, p.required) for p in op.parameters.path] == [
        ("account_id", True),
        ("app_id", True),
        ("meeting_id", True),
    ]
    assert node(op.parameters.path, "meeting_id").format == "uuid"
    assert [(p.name, p.type, p.required) for p in op.parameters.query] == [
        ("name", ParamType.STRING, False)
    ]
    assert op.parameters.body == ()
    assert op.success_status == (200,), "a 500 response is not a success"
    assert op.auth is not None
    assert op.auth.type == "bearer"
    assert op.servers == ("https://api.cloudflare.com/client/v4",)
    assert op.response_schema is not None
    assert set(op.response_schema["properties"]) == {"success", "data"}


def test_list_query_parameters_come_through_component_refs(spec: OpenAPIDocument) -> None:
    op = spec.operation("get_all_meetings")
    assert [p.name for p in op.parameters.query] == [
        "page_no",
        "per_page",
        "start_time",
        "end_time",
        "search",
        "status",
    ]
    page_no = node(op.parameters.query, "page_no")
    assert (page_no.type, page_no.minimum, page_no.maximum) == (ParamType.NUMBER, 0, None)
    assert node(op.parameters.query, "start_time").format == "date-time"


def test_create_meeting_body_resolves_refs_and_all_of(spec: OpenAPIDocument) -> None:
    op = spec.operation("create_meeting")
    body = op.parameters.body
    assert op.success_status == (201,)
    assert op.body_required is False
    summary_type = node(body, "ai_config.summarization.summary_type")
    assert summary_type.enum is not None
    assert len(summary_type.enum) == 9
    assert summary_type.default == "general"
    word_limit = node(body, "ai_config.summarization.word_limit")
    assert (word_limit.type, word_limit.minimum, word_limit.maximum, word_limit.default) == (
        ParamType.INTEGER,
        150,
        1000,
        500,
    )
    assert node(body, "title").nullable
    assert not node(body, "persist_chat").nullable
    assert node(body, "recording_config.realtimekit_bucket_config.enabled").required
    assert node(body, "transcribe_on_end").type is ParamType.BOOLEAN
    keywords = node(body, "ai_config.transcription.keywords")
    assert keywords.items is not None
    assert keywords.items.type is ParamType.STRING


def test_required_body_fields(spec: OpenAPIDocument) -> None:
    body = spec.operation("add_participant").parameters.body
    assert sorted(p.name for p in body if p.required) == ["custom_participant_id", "preset_name"]


def test_openapi_31_type_lists_keep_nullability(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "required": ["label"],
        "properties": {
            "label": {"type": ["string", "null"]},
            "count": {"type": "integer", "nullable": True},
            "plain": {"type": "integer"},
        },
    }
    op = OpenAPIDocument.load(write_spec(tmp_path, post_with_body(schema))).operation("make")
    got = {p.name: (p.type, p.required, p.nullable) for p in op.parameters.body}
    assert got == {
        "label": (ParamType.STRING, True, True),
        "count": (ParamType.INTEGER, False, True),
        "plain": (ParamType.INTEGER, False, False),
    }


def test_operation_level_parameters_override_path_level_ones(tmp_path: Path) -> None:
    paths = {
        "/things/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "q",
                    "in": "query",
                    "description": "path level",
                    "schema": {"type": "string"},
                },
            ],
            "get": {
                "operationId": "get_thing",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "description": "op level",
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {"200": {"description": "ok"}},
            },
        }
    }
    op = OpenAPIDocument.load(write_spec(tmp_path, paths)).operation("get_thing")
    assert [(p.name, p.type, p.description) for p in op.parameters.query] == [
        ("q", ParamType.INTEGER, "op level")
    ]


def test_a_yaml_document_reads_like_json(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    doc = json.loads(SPEC.read_text(encoding="utf-8"))
    file = tmp_path / "api.yaml"
    with file.open("w", encoding="utf-8") as fh:
        YAML(typ="safe", pure=True).dump(doc, fh)
    from_yaml = OpenAPIDocument.load(file).operation("create_meeting")
    from_json = OpenAPIDocument.load(SPEC).operation("create_meeting")
    assert from_yaml.parameters == from_json.parameters


# -- documents that cannot be used -------------------------------------------------------------


def test_a_ref_cycle_is_an_error(tmp_path: Path) -> None:
    components = {
        "schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"},
        }
    }
    file = write_spec(
        tmp_path, post_with_body({"$ref": "#/components/schemas/A"}), components=components
    )
    with pytest.raises(OpenAPIError, match=r"\$ref cycle through #/components/schemas/A"):
        OpenAPIDocument.load(file).operation("make")


def test_a_recursive_schema_is_cut_at_the_repeat_not_a_hang(tmp_path: Path) -> None:
    # RealtimeKit's active session lists its breakout rooms, each an active session
    node_schema = {
        "type": "object",
        "description": "a node",
        "properties": {
            "value": {"type": "string"},
            "left": {"$ref": "#/components/schemas/Node"},
            "kids": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        },
    }
    file = write_spec(
        tmp_path,
        post_with_body({"$ref": "#/components/schemas/Node"}),
        components={"schemas": {"Node": node_schema}},
    )
    body = OpenAPIDocument.load(file).operation("make").parameters.body
    assert [p.name for p in body] == ["value", "left", "kids"]
    left = node(body, "left")
    assert (left.type, left.children, left.description) == (ParamType.OBJECT, (), "a node"), (
        "the repeat is a plain object"
    )
    kids = node(body, "kids")
    assert kids.items is not None
    assert kids.items.type is ParamType.OBJECT
    assert kids.items.children == ()


def test_a_schema_nested_too_deep_is_cut_and_said(tmp_path: Path) -> None:
    schemas = {
        f"L{i}": {
            "type": "object",
            "properties": {"next": {"$ref": f"#/components/schemas/L{i + 1}"}},
        }
        for i in range(40)
    }
    schemas["L40"] = {"type": "string"}
    file = write_spec(
        tmp_path,
        post_with_body({"$ref": "#/components/schemas/L0"}),
        components={"schemas": schemas},
    )
    # cut, not refused: the operation stays usable, and what is cut is said and not checked
    op = OpenAPIDocument.load(file).operation("make")
    node = op.parameters.body[0]
    for _ in range(32):
        assert node.children, "the schema is kept down to the depth bound"
        node = node.children[0]
    assert node.type is ParamType.ANY
    assert "nested deeper than 32 levels" in node.description


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"$ref": "other.json#/X"}, "external $ref 'other.json#/X' is not supported"),
        ({"$ref": "#/components/schemas/Nope"}, "does not resolve"),
    ],
    ids=["external-ref", "dangling-ref"],
)
def test_unsupported_schemas_are_errors(
    tmp_path: Path, schema: dict[str, Any], message: str
) -> None:
    file = write_spec(tmp_path, post_with_body(schema))
    with pytest.raises(OpenAPIError, match=re.escape(message)):
        OpenAPIDocument.load(file).operation("make")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("swagger.json", '{"swagger": "2.0", "paths": {}}', "not an OpenAPI 3 document"),
        ("broken.json", '{"openapi": ', "not a JSON or YAML document"),
        ("list.yaml", "- a\n- b\n", "not an OpenAPI 3 document"),
    ],
)
def test_documents_that_are_not_openapi_3(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    file = tmp_path / name
    file.write_text(content, encoding="utf-8")
    with pytest.raises(OpenAPIError, match=message):
        OpenAPIDocument.load(file)


def test_a_missing_document_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OpenAPIError, match="cannot read"):
        OpenAPIDocument.load(tmp_path / "nope.json")
