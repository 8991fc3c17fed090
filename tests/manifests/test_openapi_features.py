"""Any vendor's OpenAPI 3.0/3.1 document: schemas, bodies, parameters and security as manifests.

Each feature is proven on a small inline document; then the Swagger Petstore 3 document, whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rtk_task.manifests.build import build_manifest
from rtk_task.manifests.document import build_all
from rtk_task.manifests.model import BODY, Manifest, Param, ParamType
from rtk_task.manifests.openapi import (
    ANY_OF,
    MAP_VALUES,
    ONE_OF,
    ApiOperation,
    OpenAPIDocument,
    document_name,
)

PETSTORE = Path(__file__).parent.parent / "data" / "openapi" / "petstore3.yaml"
REF = "#/components/schemas/"


def write(tmp_path: Path, doc: dict[str, Any], name: str = "api.json") -> Path:
    file = tmp_path / name
    file.write_text(json.dumps(doc), encoding="utf-8")
    return file


def document(
    paths: dict[str, Any], *, version: str = "3.1.0", title: str = "Acme API", **extra: Any
) -> dict[str, Any]:
    return {
        "openapi": version,
        "info": {"title": title, "version": "1"},
        "servers": [{"url": "https://api.acme.example/v2"}],
        "paths": paths,
        **extra,
    }


def posting(content: dict[str, Any], **op: Any) -> dict[str, Any]:
    """One ``POST /things`` (operationId ``make``) with this request body content."""
    body = {"content": content, "required": True}
    return {"/things": {"post": {"operationId": "make", "requestBody": body, **op}}}


def operation(tmp_path: Path, doc: dict[str, Any], name: str = "make") -> ApiOperation:
    return OpenAPIDocument.load(write(tmp_path, doc)).operation(name)


def json_body(tmp_path: Path, schema: dict[str, Any], **extra: Any) -> ApiOperation:
    return operation(tmp_path, document(posting({"application/json": {"schema": schema}}), **extra))


def field(op: ApiOperation, name: str) -> Param:
    found = next((p for p in op.parameters.body if p.name == name), None)
    assert found is not None, f"no body field {name!r} in {[p.name for p in op.parameters.body]}"
    return found


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


# -- schemas ---------------------------------------------------------------------------------


def test_one_of_without_a_type_is_any_with_its_variants(tmp_path: Path) -> None:
    op = json_body(
        tmp_path, obj(title={"oneOf": [{"type": "string"}, {"type": "integer", "title": "Id"}]})
    )
    title = field(op, "title")
    assert title.type is ParamType.ANY
    assert [(v.name, v.type) for v in title.one_of] == [
        (ONE_OF, ParamType.STRING),
        (ONE_OF, ParamType.INTEGER),
    ]
    assert title.one_of[1].description == "Id", "a variant's title describes it"


def test_any_of_variants_of_one_type_give_that_type(tmp_path: Path) -> None:
    op = json_body(
        tmp_path,
        obj(
            when={
                "anyOf": [
                    {"type": "string", "format": "date"},
                    {"type": "string", "format": "date-time"},
                ]
            }
        ),
    )
    when = field(op, "when")
    assert when.type is ParamType.STRING
    assert [v.format for v in when.any_of] == ["date", "date-time"]


def test_a_typed_schema_keeps_its_type_and_lends_it_to_untyped_variants(tmp_path: Path) -> None:
    op = json_body(
        tmp_path, obj(size={"type": "integer", "oneOf": [{"minimum": 1}, {"maximum": -1}]})
    )
    size = field(op, "size")
    assert size.type is ParamType.INTEGER
    assert [(v.type, v.minimum, v.maximum) for v in size.one_of] == [
        (ParamType.INTEGER, 1, None),
        (ParamType.INTEGER, None, -1),
    ]


def test_one_of_refs_with_a_discriminator(tmp_path: Path) -> None:
    schemas = {
        "Cat": obj(kind={"const": "cat"}, lives={"type": "integer"}),
        "Dog": obj(kind={"const": "dog"}, barks={"type": "boolean"}),
    }
    pet = {
        "oneOf": [{"$ref": REF + "Cat"}, {"$ref": REF + "Dog"}],
        "discriminator": {"propertyName": "kind", "mapping": {"cat": REF + "Cat"}},
    }
    op = json_body(tmp_path, obj(pet=pet), components={"schemas": schemas})
    node = field(op, "pet")
    assert node.type is ParamType.OBJECT, "every variant is an object"
    assert node.discriminator == "kind"
    assert [[c.name for c in v.children] for v in node.one_of] == [
        ["kind", "lives"],
        ["kind", "barks"],
    ]
    kind = node.one_of[0].child("kind")
    assert kind is not None
    assert (kind.type, kind.enum) == (ParamType.STRING, ("cat",)), "const is a one-value enum"


def test_a_one_of_body_is_one_whole_input(tmp_path: Path) -> None:
    op = json_body(tmp_path, {"oneOf": [obj(a={"type": "string"}), obj(b={"type": "string"})]})
    assert op.body_whole
    (body,) = op.parameters.body
    assert (body.name, body.type, body.required) == (BODY, ParamType.OBJECT, True)
    assert len(body.one_of) == 2


def test_additional_properties(tmp_path: Path) -> None:
    op = json_body(
        tmp_path,
        obj(
            labels={"type": "object", "additionalProperties": {"type": "string"}},
            extra={"type": "object", "additionalProperties": True},
            loose={"type": "object", "additionalProperties": {}},
            closed={"type": "object", "properties": {"a": {"type": "string"}}},
            bare={"type": "object"},
        ),
    )
    labels = field(op, "labels").additional
    assert isinstance(labels, Param)
    assert (labels.name, labels.type) == (MAP_VALUES, ParamType.STRING)
    assert field(op, "extra").additional is True
    assert field(op, "loose").additional is True, "an empty schema is any value"
    assert field(op, "closed").additional is None
    bare = field(op, "bare")
    assert (bare.children, bare.additional) == ((), None), "as manifests always had it"


def test_a_map_body_is_one_whole_input(tmp_path: Path) -> None:
    op = json_body(tmp_path, {"type": "object", "additionalProperties": {"type": "integer"}})
    assert op.body_whole
    assert isinstance(op.parameters.body[0].additional, Param)


def test_a_schema_with_no_type_is_any(tmp_path: Path) -> None:
    op = json_body(tmp_path, obj(anything={"description": "Whatever you like."}, empty={}))
    assert field(op, "anything").type is ParamType.ANY
    assert field(op, "anything").description == "Whatever you like."
    assert field(op, "empty").type is ParamType.ANY


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_nullable_variants(tmp_path: Path, version: str) -> None:
    op = json_body(
        tmp_path,
        obj(
            listed={"type": ["string", "null"]},
            any_null={"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "n"},
            flagged={"type": "string", "nullable": True},
        ),
    )
    for name, kind in (("listed", ParamType.STRING), ("any_null", ParamType.INTEGER)):
        node = field(op, name)
        assert (node.type, node.nullable, node.any_of) == (kind, True, ()), name
    assert field(op, "any_null").description == "n"
    assert field(op, "flagged").nullable


def test_a_31_type_list_of_two_types_is_any_of_both(tmp_path: Path) -> None:
    op = json_body(tmp_path, obj(id={"type": ["string", "integer", "null"], "minimum": 1}))
    node = field(op, "id")
    assert (node.type, node.nullable) == (ParamType.ANY, True)
    assert [(v.name, v.type) for v in node.any_of] == [
        (ANY_OF, ParamType.STRING),
        (ANY_OF, ParamType.INTEGER),
    ]
    assert node.any_of[1].minimum == 1, "each type keeps the constraints"


def test_a_31_type_list_in_a_response_reads_as_30(tmp_path: Path) -> None:
    schema = obj(id={"type": ["string", "null"]}, n={"type": ["integer", "string"]})
    ok = {"description": "ok", "content": {"application/json": {"schema": schema}}}
    doc = document({"/things/{id}": {"get": {"operationId": "get", "responses": {"200": ok}}}})
    built = build_manifest(openapi=write(tmp_path, doc), operation="get").manifest
    assert built.response_schema is not None
    props = built.response_schema["properties"]
    assert props["id"] == {"type": "string", "nullable": True}
    assert [v["type"] for v in props["n"]["anyOf"]] == ["integer", "string"]


def test_a_recursive_reference_is_cut_to_a_plain_object(tmp_path: Path) -> None:
    schemas = {"Node": obj(name={"type": "string"}, next={"$ref": REF + "Node"})}
    op = json_body(tmp_path, {"$ref": REF + "Node"}, components={"schemas": schemas})
    nxt = field(op, "next")
    assert (nxt.type, nxt.children) == (ParamType.OBJECT, ())


def test_shared_components_read_the_same_in_any_order(tmp_path: Path) -> None:
    """Flattened components are reused across operations only where that is exact: a schema
    met inside itself is cut the same way whichever operation met it first."""
    schemas = {
        "A": obj(b={"$ref": REF + "B"}, name={"type": "string"}),
        "B": obj(a={"$ref": REF + "A"}, tags={"type": "array", "items": {"$ref": REF + "C"}}),
        "C": obj(label={"type": "string"}),
    }
    paths = {
        f"/{name.lower()}": {
            "post": {
                "operationId": name,
                "requestBody": {"content": {"application/json": {"schema": {"$ref": REF + name}}}},
            }
        }
        for name in schemas
    }
    file = write(tmp_path, document(paths, components={"schemas": schemas}))
    forward = OpenAPIDocument.load(file)
    first = {name: forward.operation(name) for name in ("A", "B", "C")}
    backward = OpenAPIDocument.load(file)
    second = {name: backward.operation(name) for name in ("C", "B", "A")}
    for name in schemas:
        fresh = OpenAPIDocument.load(file).operation(name)
        assert first[name] == second[name] == fresh, name


# -- request bodies --------------------------------------------------------------------------


def test_json_is_preferred_and_every_sendable_type_is_listed(tmp_path: Path) -> None:
    schema = {"$ref": REF + "Pet"}
    content = {
        "application/xml": {"schema": schema},
        "application/x-www-form-urlencoded": {"schema": schema},
        "application/vnd.acme+json": {"schema": schema},
        "application/json": {"schema": schema},
    }
    pet = obj(name={"type": "string"})
    op = operation(tmp_path, document(posting(content), components={"schemas": {"Pet": pet}}))
    assert op.content_types == (
        "application/json",
        "application/vnd.acme+json",
        "application/x-www-form-urlencoded",
    ), "XML is left out when anything else is offered"
    assert [p.name for p in op.parameters.body] == ["name"]
    assert not op.body_whole


def test_a_plain_json_body_lists_no_content_type(tmp_path: Path) -> None:
    op = json_body(tmp_path, obj(a={"type": "string"}))
    assert op.content_types == ()


def test_a_form_body_keeps_its_encoding_styles(tmp_path: Path) -> None:
    schema = obj(
        tags={"type": "array", "items": {"type": "string"}},
        meta={"type": "object", "additionalProperties": {"type": "string"}},
        plain={"type": "string"},
    )
    encoding = {
        "tags": {"style": "form", "explode": False},
        "meta": {"style": "deepObject", "explode": True},
        "plain": {"style": "form", "explode": True},
    }
    content = {"application/x-www-form-urlencoded": {"schema": schema, "encoding": encoding}}
    op = operation(tmp_path, document(posting(content)))
    assert op.content_types == ("application/x-www-form-urlencoded",)
    assert (field(op, "tags").style, field(op, "tags").explode) == (None, False)
    assert (field(op, "meta").style, field(op, "meta").explode) == ("deepObject", True)
    assert (field(op, "plain").style, field(op, "plain").explode) == (None, None), "defaults"


def test_a_multipart_body_has_file_fields(tmp_path: Path) -> None:
    schema = obj(
        file={"type": "string", "format": "binary"},
        avatar={"type": "string", "contentMediaType": "image/png"},
        scan={"type": "string"},
        photos={"type": "array", "items": {"type": "string", "format": "binary"}},
        caption={"type": "string"},
    )
    content = {
        "multipart/form-data": {
            "schema": schema,
            "encoding": {"scan": {"contentType": "image/tiff"}},
        }
    }
    op = operation(tmp_path, document(posting(content)))
    assert op.content_types == ("multipart/form-data",)
    assert not op.body_whole
    assert [p.name for p in op.parameters.body if p.is_file] == ["file", "avatar", "scan"]
    photos = field(op, "photos").items
    assert photos is not None
    assert photos.is_file
    assert not field(op, "caption").is_file


def test_json_content_media_type_is_not_a_file(tmp_path: Path) -> None:
    op = json_body(tmp_path, obj(data={"type": "string", "contentEncoding": "base64"}))
    assert not field(op, "data").is_file, "in JSON it is base64 text"


@pytest.mark.parametrize("media", ["application/octet-stream", "*/*", "image/png"])
def test_a_binary_body_with_no_schema_is_a_file(tmp_path: Path, media: str) -> None:
    op = operation(tmp_path, document(posting({media: {}})))
    assert op.body_whole
    (body,) = op.parameters.body
    assert (body.name, body.is_file, body.required) == (BODY, True, True)
    expected = "application/octet-stream" if media == "*/*" else media
    assert op.content_types == (expected,)


def test_a_binary_body_with_a_string_schema_is_a_file(tmp_path: Path) -> None:
    content = {"application/octet-stream": {"schema": {"type": "string"}}}
    op = operation(tmp_path, document(posting(content)))
    assert op.parameters.body[0].is_file


def test_a_text_body_is_a_string(tmp_path: Path) -> None:
    op = operation(tmp_path, document(posting({"text/plain": {}, "text/*": {}})))
    assert op.body_whole
    assert op.content_types == ("text/plain",), "text/* is sent as text/plain"
    (body,) = op.parameters.body
    assert (body.type, body.is_file) == (ParamType.STRING, False)


def test_an_array_body_is_one_whole_input(tmp_path: Path) -> None:
    schema = {"type": "array", "items": obj(name={"type": "string"})}
    op = json_body(tmp_path, schema)
    assert op.body_whole
    (body,) = op.parameters.body
    assert (body.name, body.type) == (BODY, ParamType.ARRAY)
    assert body.items is not None
    assert [c.name for c in body.items.children] == ["name"]


def test_a_scalar_json_body_is_one_whole_input(tmp_path: Path) -> None:
    op = json_body(tmp_path, {"type": "integer", "minimum": 0})
    assert op.body_whole
    assert (op.parameters.body[0].type, op.parameters.body[0].minimum) == (ParamType.INTEGER, 0)


def test_an_xml_only_body_is_sent_as_text(tmp_path: Path) -> None:
    content = {"application/xml": {"schema": obj(a={"type": "string"})}}
    op = operation(tmp_path, document(posting(content)))
    assert op.content_types == ("application/xml",)
    assert op.body_whole
    assert op.parameters.body[0].type is ParamType.STRING


def test_an_unpublished_json_body_has_no_fields(tmp_path: Path) -> None:
    op = json_body(tmp_path, {})
    assert (op.parameters.body, op.body_whole) == ((), False)


def test_a_body_field_named_like_a_path_parameter_makes_the_body_whole(tmp_path: Path) -> None:
    item = {"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}
    body = {"content": {"application/json": {"schema": obj(username={"type": "string"})}}}
    doc = document(
        {
            "/users/{username}": {
                "put": {"operationId": "put", "parameters": [item], "requestBody": body}
            }
        }
    )
    op = operation(tmp_path, doc, "put")
    assert op.body_whole
    assert [c.name for c in op.parameters.body[0].children] == ["username"]


# -- parameters --------------------------------------------------------------------------------


def test_query_styles_and_skipped_parameters(tmp_path: Path) -> None:
    def query(name: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "schema": {"type": "array", "items": {"type": "string"}},
            **extra,
        }

    params = [
        query("ids", explode=False),
        query("filter", style="deepObject", explode=True, schema={"type": "object"}),
        query("words", style="spaceDelimited"),
        query("plain", style="form", explode=True),
        {"name": "session", "in": "cookie", "schema": {"type": "string"}},
        {"name": "Accept", "in": "header", "schema": {"type": "string"}},
        {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
        {
            "name": "q",
            "in": "query",
            "content": {"application/json": {"schema": obj(a={"type": "string"})}},
        },
    ]
    doc = document({"/things": {"get": {"operationId": "list", "parameters": params}}})
    op = operation(tmp_path, doc, "list")
    styles = {p.name: (p.style, p.explode) for p in op.parameters.query}
    assert styles == {
        "ids": (None, False),
        "filter": ("deepObject", True),
        "words": ("spaceDelimited", None),
        "plain": (None, None),
        "q": (None, None),
    }
    assert [p.name for p in op.parameters.header] == ["X-Trace"], "Accept is ignored, by the spec"
    q = next(p for p in op.parameters.query if p.name == "q")
    assert [c.name for c in q.children] == ["a"], "a parameter's content schema"


# -- security --------------------------------------------------------------------------------


def secured(
    schemes: dict[str, Any], alternatives: list[dict[str, Any]], **op: Any
) -> dict[str, Any]:
    """``GET /things`` (``list``) in a document whose ``security`` is ``alternatives``."""
    paths = {"/things": {"get": {"operationId": "list", **op}}}
    return document(paths, security=alternatives, components={"securitySchemes": schemes})


SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "basic": {"type": "http", "scheme": "basic"},
    "header_key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "query_key": {"type": "apiKey", "in": "query", "name": "api_key"},
    "cookie_key": {"type": "apiKey", "in": "cookie", "name": "sid"},
    "machine": {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {"tokenUrl": "https://auth.acme.example/token", "scopes": {}}
        },
    },
    "relative": {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}},
    },
    "user": {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://auth.acme.example/authorize",
                "tokenUrl": "https://auth.acme.example/token",
                "scopes": {},
            }
        },
    },
    "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://auth.acme.example/.well-known"},
    "tls": {"type": "mutualTLS"},
    "digest": {"type": "http", "scheme": "digest"},
    "token": {"type": "http", "scheme": "Token"},
}


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        ("bearer", {"type": "bearer", "env": "ACME_TOKEN"}),
        ("basic", {"type": "basic", "username_env": "ACME_USERNAME", "env": "ACME_PASSWORD"}),
        (
            "header_key",
            {"type": "api_key", "env": "ACME_API_KEY", "name": "X-API-Key", "location": "header"},
        ),
        ("query_key", {"type": "api_key", "name": "api_key", "location": "query"}),
        ("cookie_key", {"type": "api_key", "name": "sid", "location": "cookie"}),
        (
            "machine",
            {
                "type": "oauth2",
                "username_env": "ACME_CLIENT_ID",
                "env": "ACME_CLIENT_SECRET",
                "token_url": "https://auth.acme.example/token",
                "scopes": ("things:read",),
            },
        ),
        ("relative", {"type": "oauth2", "token_url": "https://api.acme.example/oauth/token"}),
        ("user", {"type": "bearer", "env": "ACME_ACCESS_TOKEN"}),
        ("oidc", {"type": "bearer", "env": "ACME_ACCESS_TOKEN"}),
        ("token", {"type": "header", "env": "ACME_TOKEN", "template": "Token {{ secret }}"}),
    ],
)
def test_each_security_scheme_kind(tmp_path: Path, scheme: str, expected: dict[str, Any]) -> None:
    scopes = ["things:read"] if scheme == "machine" else []
    doc = secured({scheme: SCHEMES[scheme]}, [{scheme: scopes}])
    auth = operation(tmp_path, doc, "list").auth
    assert auth is not None
    assert {k: getattr(auth, k) for k in expected} == expected
    assert auth.hosts == ("api.acme.example",), "bound to the document's servers"
    if scheme in ("user", "oidc"):
        assert "give an access token in $ACME_ACCESS_TOKEN" in auth.note


def test_the_first_expressible_alternative_wins(tmp_path: Path) -> None:
    schemes = {k: SCHEMES[k] for k in ("tls", "digest", "header_key", "bearer")}
    doc = secured(schemes, [{"tls": []}, {"digest": []}, {"header_key": [], "bearer": []}])
    auth = operation(tmp_path, doc, "list").auth
    assert auth is not None
    assert (auth.type, auth.name) == ("api_key", "X-API-Key")
    assert "also asks for 'bearer' at once" in auth.note


def test_nothing_expressible_is_none(tmp_path: Path) -> None:
    doc = secured({"tls": SCHEMES["tls"]}, [{"tls": []}, {"unknown": []}])
    assert operation(tmp_path, doc, "list").auth is None
    built = build_manifest(openapi=write(tmp_path, doc), operation="list").manifest
    assert (built.auth.type, built.auth.note) == (
        "none",
        "the document names no security scheme this operation can use",
    )


def test_operation_security_overrides_the_documents(tmp_path: Path) -> None:
    schemes = {"bearer": SCHEMES["bearer"], "basic": SCHEMES["basic"]}
    doc = secured(schemes, [{"bearer": []}], security=[])
    auth = operation(tmp_path, doc, "list").auth
    assert auth is not None
    assert (auth.type, auth.note) == (
        "none",
        "the document says this operation needs no credential",
    )
    doc = secured(schemes, [{"bearer": []}], security=[{"basic": []}])
    assert getattr(operation(tmp_path, doc, "list").auth, "type", None) == "basic"


def test_optional_security_still_sends_the_credential(tmp_path: Path) -> None:
    doc = secured({"bearer": SCHEMES["bearer"]}, [{}, {"bearer": []}])
    auth = operation(tmp_path, doc, "list").auth
    assert auth is not None
    assert auth.type == "bearer"
    assert "allows calling with no credential" in auth.note


def test_two_schemes_of_one_kind_get_their_own_variables(tmp_path: Path) -> None:
    schemes = {
        "appKey": {"type": "apiKey", "in": "header", "name": "X-App"},
        "user_token": {"type": "apiKey", "in": "header", "name": "X-User"},
    }
    for name, env in (("appKey", "ACME_APP_API_KEY"), ("user_token", "ACME_USER_API_KEY")):
        auth = operation(tmp_path, secured(schemes, [{name: []}]), "list").auth
        assert auth is not None
        assert auth.env == env


def test_relative_servers_are_kept_and_bind_no_host(tmp_path: Path) -> None:
    doc = secured({"bearer": SCHEMES["bearer"]}, [{"bearer": []}])
    doc["servers"] = [{"url": "/api/v3"}]
    file = write(tmp_path, doc)
    op = OpenAPIDocument.load(file).operation("list")
    assert op.servers == ("/api/v3",)
    assert op.auth is not None
    assert op.auth.hosts == ()
    built = build_manifest(openapi=file, operation="list").manifest
    assert built.servers == ("/api/v3",)


def test_server_variables_take_their_defaults(tmp_path: Path) -> None:
    doc = secured({"bearer": SCHEMES["bearer"]}, [{"bearer": []}])
    doc["servers"] = [
        {
            "url": "https://{region}.acme.example/{v}",
            "variables": {"region": {"default": "eu"}, "v": {"default": "v2"}},
        }
    ]
    op = operation(tmp_path, doc, "list")
    assert op.servers == ("https://eu.acme.example/v2",)
    assert op.auth is not None
    assert op.auth.hosts == ("eu.acme.example",)


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Swagger Petstore - OpenAPI 3.0", "swagger_petstore"),
        ("GitHub's official OpenAPI spec + Octokit extension", "github"),
        ("Cloudflare API - RealtimeKit (assembled)", "cloudflare"),
        ("The Stripe REST API v1", "stripe"),
        ("OpenAPI 3.1", "api"),
    ],
)
def test_a_documents_name_comes_from_its_title(title: str, name: str) -> None:
    assert document_name(title) == name


def test_a_given_name_sets_the_variables(tmp_path: Path) -> None:
    file = write(tmp_path, secured({"bearer": SCHEMES["bearer"]}, [{"bearer": []}]))
    spec = OpenAPIDocument.load(file, name="My Shop")
    assert (spec.name, spec.env_prefix) == ("my_shop", "MY_SHOP")
    assert getattr(spec.operation("list").auth, "env", None) == "MY_SHOP_TOKEN"


# -- the Swagger Petstore 3 document -------------------------------------------------------------


@pytest.fixture(scope="module")
def petstore(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Manifest]:
    out = tmp_path_factory.mktemp("petstore")
    summary = build_all(PETSTORE, out)
    assert not summary.refused, [str(r) for r in summary.refused]
    assert len(summary.built) == summary.total == 19
    return {task_id: Manifest.from_file(out / f"{task_id}.json") for task_id in summary.built}


def test_every_petstore_operation_builds(petstore: dict[str, Manifest]) -> None:
    assert all(task_id.startswith("swagger_petstore.") for task_id in petstore)
    assert {m.provider for m in petstore.values()} == {"swagger_petstore"}


def test_petstore_get_pet_by_id_takes_the_api_key_header(petstore: dict[str, Manifest]) -> None:
    auth = petstore["swagger_petstore.get_pet_by_id"].auth
    assert (auth.type, auth.name, auth.location, auth.env) == (
        "api_key",
        "api_key",
        "header",
        "SWAGGER_PETSTORE_API_KEY",
    )
    assert auth.hosts == ("petstore3.swagger.io",)


def test_petstore_upload_file_is_a_whole_binary_body(petstore: dict[str, Manifest]) -> None:
    upload = petstore["swagger_petstore.upload_file"]
    assert upload.body_whole
    assert upload.content_types == ("application/octet-stream",)
    (body,) = upload.parameters.body
    assert (body.name, body.is_file) == (BODY, True)
    assert upload.auth.type == "bearer", "OAuth2 implicit: an access token the user gives"


def test_petstore_create_users_with_list_is_a_whole_array(petstore: dict[str, Manifest]) -> None:
    create = petstore["swagger_petstore.create_users_with_list_input"]
    assert create.body_whole
    (body,) = create.parameters.body
    assert (body.name, body.type) == (BODY, ParamType.ARRAY)


def test_petstore_add_pet_offers_json_and_form(petstore: dict[str, Manifest]) -> None:
    add = petstore["swagger_petstore.add_pet"]
    assert add.content_types == ("application/json", "application/x-www-form-urlencoded")
    assert {p.name for p in add.parameters.body} >= {"name", "photoUrls", "status"}
    assert not add.body_whole
