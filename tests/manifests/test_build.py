"""Building manifests: from the seed page, other pages, OpenAPI alone, and the overlay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rtk_task.errors import ManifestError, OpenAPIError
from rtk_task.manifests.build import Build, build_manifest, derive_id, rebuild
from rtk_task.manifests.model import Manifest, Param, ParamType
from rtk_task.manifests.registry import shipped_dir, sources_dir

#: Byte for byte the seed page of issue 4 (the "Create a meeting" docs page).
SEED = sources_dir() / "realtimekit.meetings.create.txt"
SPEC = sources_dir() / "realtimekit.openapi.json"
PAGES = Path(__file__).parent.parent / "pages"
LIVE = "/accounts/{account_id}/realtime/kit/{app_id}/meetings"
LEGACY = "/accounts/{account_id}/realtimekit/meetings"
SHIPPED = sorted(shipped_dir().glob("*.json"))
HEADER = "Name | Type | Required | Description |\n---|---|---|---|\n"


def node(params: tuple[Param, ...], dotted: str) -> Param:
    """The parameter at ``a.b[].c`` (``[]`` steps into an array's items)."""
    found: Param | None = None
    nodes = params
    for part in dotted.split("."):
        name = part.removesuffix("[]")
        found = next((p for p in nodes if p.name == name), None)
        assert found is not None, f"no {name!r} on the way to {dotted!r}"
        if part.endswith("[]"):
            assert found.items is not None, f"{name!r} has no items"
            found = found.items
        nodes = found.children
    assert found is not None
    return found


def flat(params: tuple[Param, ...]) -> list[tuple[str, str, bool, object]]:
    """Every field below the roots as ``(dotted path, type, required, default)``."""
    return [
        (path, p.type.value, p.required, p.default)
        for root in params
        for path, p in root.walk()
        if not path.endswith("[]")
    ]


def write(tmp_path: Path, name: str, text: str) -> Path:
    file = tmp_path / name
    file.write_text(text, encoding="utf-8")
    return file


@pytest.fixture(scope="module")
def seed() -> Manifest:
    return build_manifest(SEED).manifest


@pytest.fixture(scope="module")
def overlay() -> Build:
    return build_manifest(SEED, openapi=SPEC)


# -- the seed page alone --------------------------------------------------------------------------

SEED_BODY = [
    ("persist_chat", "boolean", False, False),
    ("session_keep_alive_time_in_secs", "number", False, 60),
    ("ai_config", "object", False, None),
    ("ai_config.transcription", "object", False, None),
    ("ai_config.transcription.keywords", "array", False, None),
    ("ai_config.transcription.profanity_filter", "boolean", False, False),
    ("ai_config.transcription.language", "string", False, "en-US"),
    ("ai_config.summarization", "object", False, None),
    ("ai_config.summarization.summary_type", "string", False, "general"),
    ("ai_config.summarization.text_format", "string", False, "markdown"),
    ("ai_config.summarization.word_limit", "integer", False, 500),
    ("live_stream_on_start", "boolean", False, False),
    ("record_on_start", "boolean", False, False),
    ("title", "string", False, None),
    ("summarize_on_end", "boolean", False, False),
    ("preferred_region", "string", False, None),
    ("recording_config", "object", False, None),
    ("recording_config.live_streaming_config", "object", False, None),
    ("recording_config.live_streaming_config.rtmp_url", "string", False, None),
    ("recording_config.audio_config", "object", False, None),
    ("recording_config.audio_config.export_file", "boolean", False, True),
    ("recording_config.audio_config.channel", "string", False, "stereo"),
    ("recording_config.audio_config.codec", "string", False, "AAC"),
    ("recording_config.realtimekit_bucket_config", "object", False, None),
    ("recording_config.realtimekit_bucket_config.enabled", "boolean", True, None),
    ("recording_config.storage_config", "object", False, None),
    ("recording_config.storage_config.private_key", "string", False, None),
    ("recording_config.storage_config.region", "string", False, None),
    ("recording_config.storage_config.port", "number", False, None),
    ("recording_config.storage_config.username", "string", False, None),
    ("recording_config.storage_config.bucket", "string", False, None),
    ("recording_config.storage_config.auth_method", "string", False, None),
    ("recording_config.storage_config.password", "string", False, None),
    ("recording_config.storage_config.type", "string", True, None),
    ("recording_config.storage_config.access_key", "string", False, None),
    ("recording_config.storage_config.host", "string", False, None),
    ("recording_config.storage_config.path", "string", False, None),
    ("recording_config.storage_config.secret", "string", False, None),
    ("recording_config.video_config", "object", False, None),
    ("recording_config.video_config.export_file", "boolean", False, True),
    ("recording_config.video_config.height", "integer", False, 720),
    ("recording_config.video_config.width", "integer", False, 1280),
    ("recording_config.video_config.codec", "string", False, "H264"),
    ("recording_config.video_config.watermark", "object", False, None),
    ("recording_config.video_config.watermark.size", "object", False, None),
    ("recording_config.video_config.watermark.size.height", "integer", False, None),
    ("recording_config.video_config.watermark.size.width", "integer", False, None),
    ("recording_config.video_config.watermark.url", "string", False, None),
    ("recording_config.video_config.watermark.position", "string", False, "left top"),
    ("recording_config.file_name_prefix", "string", False, None),
    ("recording_config.max_seconds", "number", False, None),
]


def test_seed_request_line_server_and_path_parameters(seed: Manifest) -> None:
    assert seed.id == "realtimekit.meetings.create"
    assert (seed.method, seed.path) == ("POST", LEGACY)
    assert seed.alternate_paths == (LIVE,), "the live form of the legacy path is an alternate"
    assert seed.servers == ("https://api.cloudflare.com/client/v4",)
    assert seed.summary == "Create a meeting for the given organization ID."
    account_id = node(seed.parameters.path, "account_id")
    assert (account_id.type, account_id.required) == (ParamType.STRING, True)
    assert node(seed.parameters.path, "app_id").required is False, "app_id picks the live path"
    assert seed.idempotent is False
    assert seed.success_status == (200, 201)


def test_seed_content_type_header_with_its_default(seed: Manifest) -> None:
    assert [p.name for p in seed.parameters.header] == ["Content-Type"]
    header = seed.parameters.header[0]
    assert (header.type, header.required, header.default, header.description) == (
        ParamType.STRING,
        True,
        "application/json",
        "The media type of the request body.",
    )


def test_seed_has_all_51_body_fields_in_place_with_types_required_and_defaults(
    seed: Manifest,
) -> None:
    got = flat(seed.parameters.body)
    assert len(got) == 51, f"{len(got)} body fields"
    for expected, actual in zip(SEED_BODY, got, strict=True):
        assert actual == expected, f"body field {expected[0]}: got {actual}"
    for path, *_ in SEED_BODY:
        default = node(seed.parameters.body, path).default
        expected_default = next(e[3] for e in SEED_BODY if e[0] == path)
        assert type(default) is type(expected_default), f"{path}: default {default!r}"


def test_seed_nested_fields_the_issue_names(seed: Manifest) -> None:
    enabled = node(seed.parameters.body, "recording_config.realtimekit_bucket_config.enabled")
    assert enabled.required is True
    assert (
        node(seed.parameters.body, "recording_config.realtimekit_bucket_config").required is False
    )
    word_limit = node(seed.parameters.body, "ai_config.summarization.word_limit")
    assert (word_limit.type, word_limit.default) == (ParamType.INTEGER, 500)
    assert node(seed.parameters.body, "ai_config.transcription.keywords").type is ParamType.ARRAY


def test_seed_descriptions_are_free_of_valid_and_default_clauses(seed: Manifest) -> None:
    for root in (*seed.parameters.header, *seed.parameters.body):
        for path, p in root.walk():
            assert "Valid values" not in p.description, f"{path}: {p.description!r}"
            assert "Default value" not in p.description, f"{path}: {p.description!r}"
            assert p.description == " ".join(p.description.split()), f"{path}: stray spaces"
            assert p.enum is None, f"{path}: the page lists no values, yet enum is {p.enum}"
    codec = node(seed.parameters.body, "recording_config.audio_config.codec")
    assert codec.description == (
        "Codec using which the recording will be encoded. If VP8/VP9 is selected for "
        "videoConfig, changing audioConfig is not allowed. In this case, the codec in the "
        "audioConfig is automatically set to vorbis."
    )


def test_seed_keeps_its_trailing_section_as_a_note(seed: Manifest) -> None:
    assert [n.title for n in seed.notes] == ["How to start integrating"]
    assert seed.notes[0].text.startswith("- Add HTTP Task to your workflow definition.")


# -- the overlay on OpenAPI -----------------------------------------------------------------------


def test_overlay_fills_the_values_and_ranges_the_page_leaves_out(overlay: Build) -> None:
    body = overlay.manifest.parameters.body
    summary_type = node(body, "ai_config.summarization.summary_type")
    assert summary_type.enum == (
        "general",
        "team_meeting",
        "sales_call",
        "client_check_in",
        "interview",
        "daily_standup",
        "one_on_one_meeting",
        "lecture",
        "code_review",
    )
    word_limit = node(body, "ai_config.summarization.word_limit")
    assert (word_limit.minimum, word_limit.maximum, word_limit.default) == (150, 1000, 500)
    assert node(body, "title").nullable is True
    assert node(body, "preferred_region").enum is None, "a page-only field gained values"


def test_overlay_keeps_what_the_page_says(overlay: Build) -> None:
    m = overlay.manifest
    assert (m.method, m.path, m.alternate_paths) == ("POST", LEGACY, (LIVE,))
    assert m.summary == "Create a meeting for the given organization ID."
    assert node(m.parameters.body, "title").description == "Title of the meeting"
    assert m.success_status == (201,), "the OpenAPI success status is used"
    assert [s.role for s in m.provenance] == ["docs", "openapi"]
    assert m.provenance[1].operation == "create_meeting"


def test_overlay_drift_report(overlay: Build) -> None:
    assert [str(d) for d in overlay.drift] == [
        f"path: the page's path is legacy; live: {LIVE}",
        "path:app_id: only in the OpenAPI operation (added)",
        "header:Content-Type: only in the docs page",
        "body:preferred_region: only in the docs page",
        "body:transcribe_on_end: only in the OpenAPI operation (added)",
    ]
    assert node(overlay.manifest.parameters.body, "transcribe_on_end").type is ParamType.BOOLEAN


def test_overlay_reports_every_kind_of_disagreement_and_the_page_wins(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    text = text.replace(
        "ai_config.summarization.word_limit |\nInteger | No |\n"
        "Sets the maximum number of words in the meeting summary. Default value: 500 |",
        "ai_config.summarization.word_limit |\nNumber | Yes |\n"
        "Sets the maximum number of words in the meeting summary. Default value: 400 |",
    )
    text = text.replace(
        "such as general, team meeting, or sales call. Valid values:\n",
        'such as general, team meeting, or sales call. Valid values: "general", "weekly"\n',
    )
    text = text.replace("title |\nString | No |", "title |\nInteger | No |")
    assert text != SEED.read_text(encoding="utf-8")
    built = build_manifest(write(tmp_path, "create.txt", text), openapi=SPEC)
    drift = [str(d) for d in built.drift]
    expected = [
        "body:ai_config.summarization.word_limit: type: page number, openapi integer",
        "body:ai_config.summarization.word_limit: required: page True, openapi False",
        "body:ai_config.summarization.word_limit: default: page 400, openapi 500",
        "body:ai_config.summarization.summary_type: valid values: page ['general', 'weekly'], "
        "openapi ['general', 'team_meeting', 'sales_call', 'client_check_in', 'interview', "
        "'daily_standup', 'one_on_one_meeting', 'lecture', 'code_review']",
        "body:title: type: page integer, openapi string",
    ]
    for line in expected:
        assert line in drift, f"missing drift {line!r} in {drift}"
    body = built.manifest.parameters.body
    word_limit = node(body, "ai_config.summarization.word_limit")
    assert (word_limit.type, word_limit.required, word_limit.default) == (
        ParamType.NUMBER,
        True,
        400,
    )
    assert (word_limit.minimum, word_limit.maximum) == (150, 1000), "numeric drift keeps ranges"
    assert node(body, "ai_config.summarization.summary_type").enum == ("general", "weekly")
    assert node(body, "title").type is ParamType.INTEGER


def test_overlay_with_another_operation_reports_the_method(tmp_path: Path) -> None:
    text = (
        f"PATCH {LIVE}/{{meeting_id}}\nUpdate a meeting.\n"
        f"Request body fields\n{HEADER}title |\nString | No | |\n"
    )
    built = build_manifest(
        write(tmp_path, "update.txt", text), openapi=SPEC, operation="replace_meeting"
    )
    assert str(built.drift[0]) == "method: page PATCH, openapi PUT"
    assert built.manifest.method == "PATCH", "the page's method wins"


# -- OpenAPI alone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    ["get_meeting", f"GET {LIVE}/{{meeting_id}}", f"GET {LEGACY}/{{meeting_id}}"],
    ids=["operationId", "live-path", "legacy-path"],
)
def test_openapi_only_build_matches_the_shipped_manifest(operation: str) -> None:
    built = build_manifest(openapi=SPEC, operation=operation)
    shipped = (shipped_dir() / "realtimekit.meetings.get.json").read_text(encoding="utf-8")
    assert built.drift == ()
    assert built.manifest.to_json() == shipped


def test_openapi_only_build_keeps_the_live_path_and_names_the_legacy_one() -> None:
    m = build_manifest(openapi=SPEC, operation="get_all_meetings").manifest
    assert (m.method, m.path, m.alternate_paths) == ("GET", LIVE, (LEGACY,))
    assert m.id == "realtimekit.meetings.list"
    assert [p.name for p in m.parameters.query][:2] == ["page_no", "per_page"]
    assert [o.name for o in m.outputs][:1] == ["items"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "nothing to build from"),
        ({"openapi": SPEC}, "--openapi alone needs --operation"),
    ],
)
def test_build_needs_a_source_and_an_operation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        build_manifest(**kwargs)  # type: ignore[arg-type]


def test_an_unknown_operation_is_an_openapi_error() -> None:
    with pytest.raises(OpenAPIError, match="no operation 'get_meetings'"):
        build_manifest(openapi=SPEC, operation="get_meetings")


# -- other pages ----------------------------------------------------------------------------------


def test_list_page_with_query_parameters() -> None:
    m = build_manifest(PAGES / "list_recordings.txt").manifest
    assert (m.id, m.method) == ("realtimekit.recordings.list", "GET")
    assert m.path == "/accounts/{account_id}/realtime/kit/{app_id}/recordings"
    assert m.description == (
        "Returns the recordings of every meeting in the App, newest first,\none page at a time."
    )
    assert m.idempotent is True
    assert m.success_status == (200,)
    assert [(p.name, p.type.value, p.required, p.default) for p in m.parameters.query] == [
        ("page_no", "integer", False, 1),
        ("per_page", "integer", False, 20),
        ("status", "string", False, "UPLOADED"),
        ("sort_order", "string", False, None),
        ("include_deleted", "boolean", False, False),
        ("meeting_ids", "array", False, None),
        ("search", "string", False, None),
    ]
    query = m.parameters.query
    assert node(query, "page_no").description == (
        "The page number to return, counting from 1. Pages past the last one come back empty."
    )
    status = node(query, "status")
    assert status.enum == ("INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "ERRORED")
    assert status.description == (
        "Only recordings in this state. A recording that is still uploading is INVOKED or "
        "RECORDING."
    )
    assert node(query, "sort_order").enum == ("ASC", "DESC")
    assert node(query, "sort_order").description == ""
    assert node(query, "meeting_ids[]").type is ParamType.STRING
    assert [n.title for n in m.notes] == ["How to start integrating"]


def test_a_live_realtimekit_page_also_answers_on_the_legacy_path() -> None:
    m = build_manifest(PAGES / "list_recordings.txt").manifest
    assert m.alternate_paths == ("/accounts/{account_id}/realtimekit/recordings",)
    assert node(m.parameters.path, "account_id").required is True
    app_id = node(m.parameters.path, "app_id")
    assert app_id.required is False, "app_id is needed by one template only"
    assert app_id.description.startswith(
        "The App ID, as shown on the RealtimeKit developer portal."
    )


def test_create_page_with_required_arrays_nested_objects_and_arrays_of_objects() -> None:
    m = build_manifest(PAGES / "create_project.txt").manifest
    assert (m.id, m.method, m.path) == (
        "projects.create",
        "POST",
        "/accounts/{account_id}/projects",
    )
    assert m.alternate_paths == ()
    assert [(p.name, p.required) for p in m.parameters.path] == [("account_id", True)], (
        "a placeholder without a row becomes a required string parameter"
    )
    body = m.parameters.body
    assert [p.name for p in body] == [
        "name",
        "tags",
        "budget",
        "settings",
        "items",
        "owners",
        "metadata",
    ]
    tags = node(body, "tags")
    assert (tags.type, tags.required, tags.description) == (
        ParamType.ARRAY,
        True,
        "Labels for the project; at least one.",
    )
    assert (node(body, "tags[]").type, node(body, "tags[]").enum) == (
        ParamType.STRING,
        ("internal", "customer", "experimental"),
    )
    assert node(body, "budget").default == 0.5
    visibility = node(body, "settings.visibility")
    assert (visibility.required, visibility.default, visibility.enum) == (
        True,
        "team",
        ("private", "team", "public"),
    )
    assert node(body, "settings.notifications.email").default is True
    assert node(body, "settings.notifications.digest_hours").default == 24
    items = node(body, "items")
    assert (items.type, items.required) == (ParamType.ARRAY, True)
    assert [
        (c.name, c.type.value, c.required, c.default) for c in node(body, "items[]").children
    ] == [
        ("name", "string", True, None),
        ("quantity", "integer", False, 1),
        ("labels", "array", False, None),
    ]
    assert node(body, "items[].labels[]").type is ParamType.STRING
    assert node(body, "owners").items is None
    assert node(body, "metadata").default == {}


def test_patch_page_with_headers_in_any_section_order() -> None:
    m = build_manifest(PAGES / "update_webhook.txt").manifest
    assert (m.id, m.method, m.idempotent) == ("webhooks.update", "PATCH", False)
    assert m.servers == ()
    assert m.summary == "Update a webhook."
    assert m.description == "Only the fields you send change."
    assert [(p.name, p.required, p.default) for p in m.parameters.header] == [
        ("Content-Type", True, "application/json"),
        ("If-Match", True, None),
        ("X-Request-Id", False, None),
    ]
    assert [(p.name, p.required) for p in m.parameters.path] == [
        ("account_id", True),
        ("webhook_id", True),
    ]
    body = m.parameters.body
    assert node(body, "sample_rate").default == 0.5
    assert node(body, "enabled").default is True
    events = node(body, "events")
    assert (events.type, events.description, events.enum) == (
        ParamType.ARRAY,
        "The events to send.",
        None,
    )
    assert node(body, "events[]").enum is None, "an empty Valid values list gave values"
    assert node(body, "retry.max_attempts").required is True
    assert node(body, "retry").required is False


# -- checks across parameters ---------------------------------------------------------------------


def test_a_query_parameter_and_a_body_field_of_one_name_clash(tmp_path: Path) -> None:
    text = (
        "POST /things\nCreate.\n"
        f"Query parameters\n{HEADER}dry_run |\nBoolean | No | |\n"
        f"Request body fields\n{HEADER}title |\nString | No | |\ndry_run |\nBoolean | No | |\n"
    )
    with pytest.raises(ManifestError) as info:
        build_manifest(write(tmp_path, "clash.txt", text))
    assert [p.message for p in info.value.problems] == [
        "body parameter 'dry_run' clashes with the query parameter of the same name"
    ]
    assert info.value.first.where.endswith("clash.txt")


def test_a_path_parameter_and_a_body_field_of_one_name_clash(tmp_path: Path) -> None:
    text = (
        "PUT /things/{id}\nReplace.\n"
        f"Path parameters\n{HEADER}id |\nString | Yes |\n"
        f"Request body fields\n{HEADER}id |\nString | No | |\n"
    )
    with pytest.raises(ManifestError, match="body parameter 'id' clashes with the path parameter"):
        build_manifest(write(tmp_path, "clash.txt", text))


def test_a_body_field_named_headers_clashes_with_the_headers_input(tmp_path: Path) -> None:
    text = f"POST /things\nCreate.\nRequest body fields\n{HEADER}headers |\nObject | No | |\n"
    with pytest.raises(ManifestError, match="body parameter 'headers' clashes with `headers`"):
        build_manifest(write(tmp_path, "headers.txt", text))


def test_a_path_parameter_missing_from_the_path_is_an_error(tmp_path: Path) -> None:
    text = (
        "GET /things/{id}\nGet.\n"
        f"Path parameters\n{HEADER}id |\nString | Yes |\nthing_id |\nString | Yes |\n"
    )
    with pytest.raises(ManifestError) as info:
        build_manifest(write(tmp_path, "path.txt", text))
    assert info.value.first.where == "path parameter 'thing_id'"
    assert info.value.first.message == "is not in the path /things/{id}"


def test_a_header_may_share_a_name_with_a_body_field(tmp_path: Path) -> None:
    text = (
        "POST /things\nCreate.\n"
        f"Request headers\n{HEADER}title |\nString | No | |\n"
        f"Request body fields\n{HEADER}title |\nString | No | |\n"
    )
    m = build_manifest(write(tmp_path, "ok.txt", text)).manifest
    assert [p.name for p in m.parameters.header] == [p.name for p in m.parameters.body] == ["title"]


# -- ids, determinism, provenance -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", LIVE, "realtimekit.meetings.create"),
        ("POST", LEGACY, "realtimekit.meetings.create"),
        ("GET", LIVE, "realtimekit.meetings.list"),
        ("GET", f"{LIVE}/{{meeting_id}}", "realtimekit.meetings.get"),
        ("PATCH", f"{LIVE}/{{meeting_id}}", "realtimekit.meetings.update"),
        ("PUT", f"{LIVE}/{{meeting_id}}", "realtimekit.meetings.replace"),
        ("DELETE", "/zones/{zone_id}/dns-records/{id}", "zones.dns_records.delete"),
        ("POST", "/things/{id}", "things.action"),
        ("GET", "/", "root.list"),
    ],
)
def test_derive_id(method: str, path: str, expected: str) -> None:
    assert derive_id(method, path) == expected


def test_the_id_can_be_given() -> None:
    assert build_manifest(SEED, task_id="my.create").manifest.id == "my.create"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"docs": SEED},
        {"docs": SEED, "openapi": SPEC},
        {"openapi": SPEC, "operation": "get_all_meetings"},
        {"docs": PAGES / "create_project.txt"},
    ],
    ids=["page", "overlay", "openapi", "other-page"],
)
def test_building_twice_gives_identical_bytes(kwargs: dict[str, Path | str]) -> None:
    first = build_manifest(**kwargs).manifest.to_json()  # type: ignore[arg-type]
    second = build_manifest(**kwargs).manifest.to_json()  # type: ignore[arg-type]
    assert first == second
    assert first.endswith("}\n")
    assert Manifest.from_json(first).to_json() == first, "the JSON does not round-trip"


def test_provenance_names_the_files_and_their_hashes(tmp_path: Path) -> None:
    import hashlib

    copy = tmp_path / "create.txt"
    shutil.copy(SEED, copy)
    m = build_manifest(copy, openapi=SPEC).manifest
    assert [(s.role, s.file, s.sha256) for s in m.provenance] == [
        ("docs", "create.txt", hashlib.sha256(SEED.read_bytes()).hexdigest()),
        ("openapi", SPEC.name, hashlib.sha256(SPEC.read_bytes()).hexdigest()),
    ]


# -- the shipped manifests ------------------------------------------------------------------------


def test_there_are_shipped_manifests() -> None:
    assert len(SHIPPED) >= 7, [f.name for f in SHIPPED]


@pytest.mark.parametrize("file", SHIPPED, ids=lambda f: f.stem)
def test_shipped_manifest_is_what_its_sources_build(file: Path) -> None:
    built = rebuild(file).manifest
    assert built.to_json() == file.read_text(encoding="utf-8"), (
        f"{file.name} is stale: run `rtk-task manifest rebuild`"
    )
    assert built.id == file.stem


def copy_shipped(tmp_path: Path, name: str) -> Path:
    """A shipped manifest and its sources in a folder of their own."""
    (tmp_path / "sources").mkdir()
    for source in json.loads((shipped_dir() / name).read_text(encoding="utf-8"))["provenance"]:
        shutil.copy(sources_dir() / source["file"], tmp_path / "sources" / source["file"])
    shutil.copy(shipped_dir() / name, tmp_path / name)
    return tmp_path / name


def test_rebuild_sees_an_altered_manifest(tmp_path: Path) -> None:
    file = copy_shipped(tmp_path, "realtimekit.meetings.create.json")
    original = file.read_text(encoding="utf-8")
    file.write_text(original.replace('"default": 500', '"default": 300'), encoding="utf-8")
    assert rebuild(file).manifest.to_json() == original
    assert file.read_text(encoding="utf-8") != original, "rebuild() wrote the file"


def test_rebuild_finds_sources_beside_the_manifest(tmp_path: Path) -> None:
    file = copy_shipped(tmp_path, "realtimekit.meetings.get.json")
    shutil.move(tmp_path / "sources" / SPEC.name, tmp_path / SPEC.name)
    assert rebuild(file).manifest.to_json() == file.read_text(encoding="utf-8")


def test_rebuild_without_its_sources_is_an_error(tmp_path: Path) -> None:
    file = copy_shipped(tmp_path, "realtimekit.meetings.create.json")
    (tmp_path / "sources" / SEED.name).unlink()
    with pytest.raises(ManifestError, match=f"source '{SEED.name}' not found"):
        rebuild(file)


# -- a docs page alone: the outputs and paging its shape allows -----------------------------------


def test_a_create_page_alone_gives_an_id_named_after_the_resource() -> None:
    m = build_manifest(PAGES / "create_project.txt").manifest
    assert m.response_schema is None
    # /accounts/{account_id}/... is Cloudflare's v4 API: the payload is under `result`
    assert [(o.name, o.path) for o in m.outputs] == [("project_id", "result.id")]
    roles = build_manifest(PAGES / "assign_roles.txt").manifest
    assert [(o.name, o.path) for o in roles.outputs] == [("role_id", "result.id")]


def test_a_list_page_alone_pages_and_gives_items_and_the_total() -> None:
    from rtk_task.paginate import Paging, paging_of

    m = build_manifest(PAGES / "list_recordings.txt").manifest
    assert [(o.name, o.path) for o in m.outputs] == [
        ("items", "data"),
        ("total_count", "paging.total_count"),
    ]
    assert paging_of(m) == Paging(
        style="page", param="page_no", size_param="per_page", total="total_count"
    )


def test_an_update_page_alone_declares_nothing_it_cannot_know() -> None:
    m = build_manifest(PAGES / "update_webhook.txt").manifest
    assert m.outputs == ()


@pytest.mark.parametrize(
    ("query", "outputs"),
    [
        (
            "page |\nInteger | No | |\nper_page |\nInteger | No | |\n",
            [("items", "result"), ("total_count", "result_info.total_count")],
        ),
        (
            "offset |\nInteger | No | |\nlimit |\nInteger | No | |\n",
            [("items", "result"), ("total_count", "result_info.total_count")],
        ),
        (
            "cursor |\nString | No | |\n",
            [("items", "result"), ("next_cursor", "result_info.cursor")],
        ),
        ("name |\nString | No | |\n", []),
    ],
)
def test_a_list_pages_by_page_offset_or_cursor(
    tmp_path: Path, query: str, outputs: list[tuple[str, str]]
) -> None:
    page = tmp_path / "list_things.txt"
    page.write_text(
        f"GET /accounts/{{account_id}}/things\nList things.\nQuery parameters\n{HEADER}{query}"
    )
    m = build_manifest(page).manifest
    assert m.id == "things.list"
    assert [(o.name, o.path) for o in m.outputs] == outputs


def test_a_get_page_alone_gives_the_id_and_a_plain_api_reads_the_body_itself(
    tmp_path: Path,
) -> None:
    page = tmp_path / "get_widget.txt"
    page.write_text("GET /widgets/{widget_id}\nGet a widget.\n")
    m = build_manifest(page).manifest
    assert [(o.name, o.path) for o in m.outputs] == [("widget_id", "id")]


def test_a_docs_only_list_pages_through_every_page_and_steps_read_the_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from rtk_task.client import Client
    from rtk_task.workflows.check import check_workflow
    from rtk_task.workflows.model import parse_workflow
    from rtk_task.workflows.runner import run_workflow

    folder = tmp_path / "mine"
    folder.mkdir()
    m = build_manifest(PAGES / "list_recordings.txt", task_id="mine.recordings.list").manifest
    (folder / "list.json").write_text(m.to_json())
    monkeypatch.setenv("RTK_MANIFEST_PATH", str(folder))
    everything = [{"id": f"r{i}"} for i in range(5)]

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page_no", "1"))
        size = int(request.url.params["per_page"])
        items = everything[(page - 1) * size : page * size]
        body = {"success": True, "data": items, "paging": {"total_count": len(everything)}}
        return httpx.Response(200, json=body)

    with Client(
        base_url="http://127.0.0.1:1/client/v4",
        token="t-docs",
        transport=httpx.MockTransport(handler),
    ) as c:
        result = c.call(m, {"account_id": "a", "app_id": "b", "per_page": 2}, paginate=True)
    assert result.ok, result.error
    assert result.outputs["items"] == everything
    wf = parse_workflow(
        "name: docs-only\nsteps:\n"
        "  - id: every\n    task: mine.recordings.list\n"
        "    with: {account_id: a, app_id: b, per_page: 2}\n    paginate: true\n"
        "  - id: first\n    task: mine.recordings.list\n"
        "    with: {account_id: a, app_id: b, per_page: 2}\n"
        '    outputs: {first: "{{ response.body.data[0].id }}", '
        'total: "{{ response.body.paging.total_count }}"}\n',
        "wf.yaml",
    )
    report = check_workflow(wf)
    assert report.ok, report.problems
    run = run_workflow(
        wf,
        {},
        base_url="http://127.0.0.1:1/client/v4",
        token="t-docs",
        transport=httpx.MockTransport(handler),
    )
    assert run.ok, {k: r.error for k, r in run.steps.items()}
    assert run.steps["every"].outputs["items"] == everything
    assert run.steps["first"].outputs["first"] == "r0"
    assert run.steps["first"].outputs["total"] == 5
    assert run.steps["first"].outputs["items"] == everything[:2]
