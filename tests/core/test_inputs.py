"""Step inputs: the typed check against a manifest, and the JSON Schema of the inputs."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any, cast

import pytest

from rtk_task.errors import InputError
from rtk_task.inputs import input_model, input_schema, validate_inputs
from rtk_task.manifests.build import build_manifest
from rtk_task.manifests.model import Manifest, Param, Parameters, ParamType
from rtk_task.manifests.registry import load_task
from rtk_task.request import build_request

CREATE = load_task("realtimekit.meetings.create")
PAGES = Path(__file__).parent.parent / "pages"
REALISTIC = PAGES / "create_meeting_inputs.json"
SUMMARY_TYPES = [
    "general",
    "team_meeting",
    "sales_call",
    "client_check_in",
    "interview",
    "daily_standup",
    "one_on_one_meeting",
    "lecture",
    "code_review",
]


def realistic_body() -> dict[str, Any]:
    """A create-meeting step as a user would write it, touching every nested object."""
    data: dict[str, Any] = json.loads(REALISTIC.read_text(encoding="utf-8"))
    return data


def problems(manifest: Manifest, inputs: Any) -> list[tuple[str, str, str]]:
    """Every problem of inputs that must be refused, as ``(where, message, hint)``."""
    with pytest.raises(InputError) as info:
        validate_inputs(manifest, inputs)
    return [(p.where, p.message, p.hint) for p in info.value.problems]


def wheres(manifest: Manifest, inputs: Any) -> list[str]:
    return [where for where, _, _ in problems(manifest, inputs)]


def manifest_of(*body: Param, header: tuple[Param, ...] = ()) -> Manifest:
    return Manifest(
        id="test.things.create",
        method="POST",
        path="/things",
        idempotent=False,
        parameters=Parameters(body=body, header=header),
    )


# -- what the issue asks ----------------------------------------------------------------------


def test_a_misspelt_nested_field_is_named_with_a_did_you_mean() -> None:
    got = problems(CREATE, {"account_id": "a", "ai_config": {"summarization": {"word_limt": 300}}})
    assert got == [
        ("ai_config.summarization.word_limt", "unknown field", "did you mean 'word_limit'?")
    ]


def test_an_unknown_summary_type_lists_the_nine_valid_ones() -> None:
    inputs = {"account_id": "a", "ai_config": {"summarization": {"summary_type": "weekly"}}}
    [(where, message, _)] = problems(CREATE, inputs)
    assert where == "ai_config.summarization.summary_type"
    assert '(got "weekly")' in message
    for value in SUMMARY_TYPES:
        assert f"'{value}'" in message, f"{value} missing from {message!r}"


def test_a_realistic_full_body_is_accepted() -> None:
    validate_inputs(CREATE, realistic_body())


def test_validation_leaves_the_inputs_as_they_were_and_injects_no_default() -> None:
    inputs = {"account_id": "a", "ai_config": {"summarization": {}}, "title": "x"}
    before = copy.deepcopy(inputs)
    assert cast(object, validate_inputs(CREATE, inputs)) is None  # checked, never a copy
    assert inputs == before, "validation changed the inputs"
    request = build_request(CREATE, inputs, base_url="http://127.0.0.1:9/v4", token=None)
    assert request.json_body == {"ai_config": {"summarization": {}}, "title": "x"}, (
        "a documented default joined what is sent"
    )


# -- unknown and missing fields -------------------------------------------------------------------


def test_an_unknown_top_level_field_gets_a_did_you_mean() -> None:
    assert problems(CREATE, {"account_id": "a", "titel": "x"}) == [
        ("titel", "unknown field", "did you mean 'title'?")
    ]


def test_an_unknown_field_with_no_close_name_lists_the_known_ones() -> None:
    [(where, message, hint)] = problems(
        CREATE, {"account_id": "a", "ai_config": {"summarization": {"zzz": 1}}}
    )
    assert (where, message) == ("ai_config.summarization.zzz", "unknown field")
    assert hint == "known here: summary_type, text_format, word_limit"


def test_internal_field_names_are_not_accepted() -> None:
    assert wheres(CREATE, {"account_id": "a", "body_0": True, "path_0": "x"}) == [
        "body_0",
        "path_0",
    ]


def test_a_required_path_parameter() -> None:
    [(where, message, hint)] = problems(CREATE, {"title": "x"})
    assert (where, message) == ("account_id", "is required")
    assert hint == "string: The account identifier tag."


def test_a_field_required_inside_its_object() -> None:
    inputs = {"account_id": "a", "recording_config": {"realtimekit_bucket_config": {}}}
    [(where, message, hint)] = problems(CREATE, inputs)
    assert (where, message) == ("recording_config.realtimekit_bucket_config.enabled", "is required")
    assert hint.startswith("boolean: Controls whether recordings are uploaded")


def test_an_object_left_out_needs_none_of_its_required_fields() -> None:
    validate_inputs(CREATE, {"account_id": "a", "recording_config": {"max_seconds": 60}})


# -- types, ranges, values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ai_config.summarization.word_limit", "5", "Input should be a valid integer"),
        ("ai_config.summarization.word_limit", 300.0, "Input should be a valid integer"),
        ("ai_config.summarization.word_limit", True, "Input should be a valid integer"),
        ("session_keep_alive_time_in_secs", True, "Input should be a valid number"),
        ("session_keep_alive_time_in_secs", "60", "Input should be a valid number"),
        ("persist_chat", "true", "Input should be a valid boolean"),
        ("persist_chat", 1, "Input should be a valid boolean"),
        ("title", 5, "Input should be a valid string"),
        ("ai_config", "x", "Input should be a valid dictionary"),
        ("ai_config.transcription.keywords", "one", "Input should be a valid list"),
    ],
)
def test_types_are_strict(field: str, value: Any, message: str) -> None:
    inputs: dict[str, Any] = {"account_id": "a"}
    *parents, leaf = field.split(".")
    target = inputs
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value
    [(where, got, _)] = problems(CREATE, inputs)
    assert where == field
    assert got.startswith(message), got


def test_an_integer_is_a_number() -> None:
    validate_inputs(CREATE, {"account_id": "a", "session_keep_alive_time_in_secs": 60})
    validate_inputs(CREATE, {"account_id": "a", "session_keep_alive_time_in_secs": 60.5})


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"ai_config": {"summarization": {"word_limit": 149}}},
            "Input should be greater than or equal to 150",
        ),
        (
            {"ai_config": {"summarization": {"word_limit": 1001}}},
            "Input should be less than or equal to 1000",
        ),
        ({"session_keep_alive_time_in_secs": 59.9}, "Input should be greater than or equal to 60"),
        ({"session_keep_alive_time_in_secs": 601}, "Input should be less than or equal to 600"),
        (
            {"recording_config": {"max_seconds": 86401}},
            "Input should be less than or equal to 86400",
        ),
    ],
)
def test_range_errors(inputs: dict[str, Any], message: str) -> None:
    [(_, got, hint)] = problems(CREATE, {"account_id": "a", **inputs})
    assert got == message
    assert hint, "a range error should describe the field"


@pytest.mark.parametrize("word_limit", [150, 1000])
def test_range_bounds_are_inclusive(word_limit: int) -> None:
    validate_inputs(
        CREATE, {"account_id": "a", "ai_config": {"summarization": {"word_limit": word_limit}}}
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numbers_that_are_not_json_are_refused(value: float) -> None:
    inputs = {
        "account_id": "a",
        "recording_config": {"storage_config": {"type": "aws", "port": value}},
    }
    [(where, message, _)] = problems(CREATE, inputs)
    assert where == "recording_config.storage_config.port"
    assert message == "Input should be a finite number"


def test_array_items_of_the_wrong_type_are_named_by_index() -> None:
    inputs = {"account_id": "a", "ai_config": {"transcription": {"keywords": ["a", 3, "c", None]}}}
    assert wheres(CREATE, inputs) == [
        "ai_config.transcription.keywords[1]",
        "ai_config.transcription.keywords[3]",
    ]


def test_every_problem_is_reported_at_once_with_dotted_paths() -> None:
    inputs = {
        "titel": "x",
        "persist_chat": "yes",
        "ai_config": {
            "summarization": {"summary_type": "weekly", "word_limit": 100, "word_limt": 1},
            "transcription": {"keywords": ["ok", 7]},
        },
        "recording_config": {
            "realtimekit_bucket_config": {},
            "video_config": {"width": "1280", "watermark": {"size": {"height": 1.5}}},
        },
    }
    assert sorted(wheres(CREATE, inputs)) == sorted(
        [
            "account_id",
            "titel",
            "persist_chat",
            "ai_config.summarization.summary_type",
            "ai_config.summarization.word_limit",
            "ai_config.summarization.word_limt",
            "ai_config.transcription.keywords[1]",
            "recording_config.realtimekit_bucket_config.enabled",
            "recording_config.video_config.width",
            "recording_config.video_config.watermark.size.height",
        ]
    )


@pytest.mark.parametrize(
    "inputs",
    [
        {"title": None},
        {"record_on_start": None},
        {"live_stream_on_start": None},
        {"recording_config": {"storage_config": None}},
    ],
)
def test_nullable_fields_accept_null(inputs: dict[str, Any]) -> None:
    validate_inputs(CREATE, {"account_id": "a", **inputs})


@pytest.mark.parametrize(
    ("inputs", "where"),
    [
        ({"persist_chat": None}, "persist_chat"),
        ({"ai_config": None}, "ai_config"),
        (
            {"ai_config": {"summarization": {"word_limit": None}}},
            "ai_config.summarization.word_limit",
        ),
        ({"account_id": None}, "account_id"),
        ({"headers": None}, "headers"),
    ],
)
def test_fields_that_are_not_nullable_refuse_null(inputs: dict[str, Any], where: str) -> None:
    assert wheres(CREATE, {"account_id": "a", **inputs}) == [where]


@pytest.mark.parametrize("inputs", [[], "x", None, 5])
def test_inputs_must_be_an_object(inputs: Any) -> None:
    [(where, message, _)] = problems(CREATE, inputs)
    assert where == "inputs"
    assert message.startswith("must be an object")


# -- enums keep their types -----------------------------------------------------------------------

ENUMS = manifest_of(
    Param(name="n", type=ParamType.INTEGER, enum=(1, 2)),
    Param(name="f", type=ParamType.NUMBER, enum=(0.5, 2)),
    Param(name="b", type=ParamType.BOOLEAN, enum=(True,)),
    Param(name="s", type=ParamType.STRING, enum=("1", "2"), nullable=True),
)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"n": True}, "Input should be a valid integer"),
        ({"n": 1.0}, "Input should be a valid integer"),
        ({"n": "1"}, "Input should be a valid integer"),
        ({"n": 3}, "Input should be 1 or 2 (got 3)"),
        ({"f": True}, "Input should be a valid number"),
        ({"f": "2"}, "Input should be a valid number"),
        ({"b": 1}, "Input should be a valid boolean"),
        ({"b": False}, "Input should be True (got false)"),
        ({"s": 1}, "Input should be '1' or '2' (got 1)"),
    ],
)
def test_enum_values_are_checked_with_their_type(inputs: dict[str, Any], message: str) -> None:
    [(_, got, _)] = problems(ENUMS, inputs)
    assert got == message


@pytest.mark.parametrize("inputs", [{"n": 2}, {"f": 2}, {"f": 0.5}, {"b": True}, {"s": None}])
def test_enum_values_of_the_right_type_pass(inputs: dict[str, Any]) -> None:
    validate_inputs(ENUMS, inputs)


# -- headers ---------------------------------------------------------------------------------------


def test_custom_headers_must_be_strings() -> None:
    got = wheres(CREATE, {"account_id": "a", "headers": {"X-Trace": 5, "X-Ok": "y"}})
    assert got == ["headers.X-Trace"]


def test_a_known_header_with_a_default_may_be_left_out() -> None:
    validate_inputs(CREATE, {"account_id": "a", "headers": {"X-Anything": "1"}})


def test_a_required_header_without_a_default_is_required_even_when_headers_are_left_out() -> None:
    webhook = build_manifest(PAGES / "update_webhook.txt").manifest
    base = {"account_id": "a", "webhook_id": "w"}
    assert problems(webhook, base) == [
        (
            "headers.If-Match",
            "is required",
            "string: The ETag of the webhook as last read; the update fails if it changed.",
        )
    ]
    validate_inputs(webhook, {**base, "headers": {"If-Match": '"v1"'}})


def test_the_input_model_is_built_once_per_manifest() -> None:
    assert input_model(CREATE) is input_model(CREATE)
    other = Manifest.from_json(CREATE.to_json())
    assert input_model(other) is not input_model(CREATE)


# -- JSON Schema -----------------------------------------------------------------------------------

SCHEMA = input_schema(CREATE)


def test_schema_dialect_and_top_level() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["title"] == "realtimekit.meetings.create"
    assert SCHEMA["type"] == "object"
    assert SCHEMA["additionalProperties"] is False
    assert SCHEMA["required"] == ["account_id"]
    assert SCHEMA["properties"]["account_id"]["x-rtk-location"] == "path"
    assert SCHEMA["properties"]["title"]["x-rtk-location"] == "body"


def test_schema_nested_properties_with_every_keyword() -> None:
    ai = SCHEMA["properties"]["ai_config"]
    summarization = ai["properties"]["summarization"]
    assert summarization["additionalProperties"] is False
    word_limit = summarization["properties"]["word_limit"]
    assert word_limit == {
        "type": "integer",
        "description": "Sets the maximum number of words in the meeting summary.",
        "default": 500,
        "minimum": 150,
        "maximum": 1000,
    }
    assert summarization["properties"]["summary_type"]["enum"] == SUMMARY_TYPES
    keywords = ai["properties"]["transcription"]["properties"]["keywords"]
    assert keywords["type"] == "array"
    assert keywords["items"] == {"type": "string"}
    bucket = SCHEMA["properties"]["recording_config"]["properties"]["realtimekit_bucket_config"]
    assert bucket["required"] == ["enabled"]
    assert SCHEMA["properties"]["title"]["type"] == ["string", "null"]
    headers = SCHEMA["properties"]["headers"]
    assert headers["properties"]["Content-Type"]["default"] == "application/json"
    assert "required" not in headers, "a header with a default was made required"


def test_schema_of_a_nullable_enum_allows_null() -> None:
    s = input_schema(ENUMS)["properties"]["s"]
    assert s["type"] == ["string", "null"]
    assert s["enum"] == ["1", "2", None]


def test_schema_requires_the_headers_the_model_requires() -> None:
    schema = input_schema(build_manifest(PAGES / "update_webhook.txt").manifest)
    assert schema["required"] == ["account_id", "webhook_id", "headers"]
    assert schema["properties"]["headers"]["required"] == ["If-Match"]


def schema_validator(schema: dict[str, Any]) -> Any:
    """A draft 2020-12 validator: ``jsonschema`` if installed, else ``jsonschema_rs``."""
    try:
        import jsonschema  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        rs = pytest.importorskip("jsonschema_rs")
        return rs.Draft202012Validator(schema)
    return jsonschema.Draft202012Validator(schema)


INVALID_BODIES = [
    {"account_id": "a", "ai_config": {"summarization": {"word_limt": 300}}},
    {"account_id": "a", "ai_config": {"summarization": {"summary_type": "weekly"}}},
    {"account_id": "a", "ai_config": {"summarization": {"word_limit": "300"}}},
    {"account_id": "a", "ai_config": {"summarization": {"word_limit": 1001}}},
    {"account_id": "a", "recording_config": {"realtimekit_bucket_config": {}}},
    {"account_id": "a", "ai_config": {"transcription": {"keywords": ["a", 3]}}},
    {"account_id": "a", "persist_chat": None},
    {"account_id": "a", "headers": {"X-Trace": 5}},
    {"title": "no account"},
]


def test_a_realistic_body_is_valid_against_the_schema() -> None:
    validator = schema_validator(SCHEMA)
    body = realistic_body()
    assert validator.is_valid(body), [str(e) for e in validator.iter_errors(body)]


@pytest.mark.parametrize("body", INVALID_BODIES)
def test_invalid_bodies_fail_the_schema_and_the_model_alike(body: dict[str, Any]) -> None:
    assert not schema_validator(SCHEMA).is_valid(body), "the schema accepted it"
    with pytest.raises(InputError):
        validate_inputs(CREATE, body)


@pytest.mark.parametrize(
    "body",
    [{"title": None}, {"recording_config": {"storage_config": None}}, {"headers": {"X-A": "b"}}],
)
def test_valid_edge_bodies_pass_the_schema_and_the_model_alike(body: dict[str, Any]) -> None:
    inputs = {"account_id": "a", **body}
    assert schema_validator(SCHEMA).is_valid(inputs), "the schema refused it"
    validate_inputs(CREATE, inputs)


def test_known_headers_are_matched_whatever_their_case() -> None:
    from rtk_task.manifests.model import Manifest, Param, Parameters, ParamType

    manifest = Manifest(
        id="x.things.update",
        method="PATCH",
        path="/things",
        idempotent=False,
        parameters=Parameters(
            header=(Param(name="If-Match", type=ParamType.STRING, required=True, enum=("a", "b")),)
        ),
    )
    validate_inputs(manifest, {"headers": {"if-match": "a"}})
    with pytest.raises(InputError, match=r"headers\.If-Match"):
        validate_inputs(manifest, {"headers": {"IF-MATCH": "zzz"}})
    with pytest.raises(InputError, match="is required"):
        validate_inputs(manifest, {"headers": {"X-Other": "1"}})
