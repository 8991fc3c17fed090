"""Building every operation of a large OpenAPI document: well under its 30 s line, and linear.

    python benchmarks/bench_openapi_all.py [--quick]

:func:`measure` times, in one run (min over rounds), :func:`~rtk_task.manifests.document.
build_all` into a temporary folder on:

- GitHub's public REST description (``tests/data/openapi/github.api.json.gz``, 13 MB, 1,200+
  operations) when it is there: ``github_all_s`` (target: under 30 s on a 2-core machine),
  next to parsing it alone (``ratio_github_all_vs_load``: building and writing every manifest,
  22 MB of pretty JSON, costs a small multiple of reading the document once);
- generated documents of 1,000 and 2,000 operations sharing components that nest, recur and
  branch (``oneOf``, ``allOf``, a schema that contains itself): ``ratio_2000_vs_1000`` near 2
  means an operation costs the same however large the document (finding it, resolving and
  flattening its references never walk the whole document again). Without GitHub's document,
  ``synthetic_1000_all_s`` stands in for the time figure.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtk_task.manifests.document import build_all
from rtk_task.manifests.openapi import OpenAPIDocument

GITHUB = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "openapi" / "github.api.json.gz"
)
#: The figures and their targets, for a reader of the printed numbers.
TARGETS = {
    "github_all_s": "<= 30 (s)",
    "ratio_github_all_vs_load": "<= 10",
    "synthetic_1000_all_s": "<= 30 (s)",
    "ratio_2000_vs_1000": "<= 2.5 (linear ~2)",
}
_REF = "#/components/schemas/"


def synthetic_document(operations: int) -> dict[str, Any]:
    """An OpenAPI 3.1 document of ``operations`` operations (four per resource) over 60
    shared component schemas: chains of references, ``allOf``, ``oneOf`` with a
    discriminator, maps, and a schema that contains itself."""
    schemas: dict[str, Any] = {
        "Node": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": _REF + "Node"}},
            },
        },
    }
    for i in range(60):
        nxt = {"$ref": f"{_REF}S{i + 1}"} if i < 59 and i % 10 != 9 else {"type": "string"}
        schemas[f"S{i}"] = {
            "allOf": [{"$ref": _REF + "Base"}],
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "name": {"type": ["string", "null"], "maxLength": 80},
                "kind": {"const": f"s{i}"},
                "next": nxt,
                "tree": {"$ref": _REF + "Node"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "value": {
                    "oneOf": [{"type": "integer"}, {"type": "string"}, {"$ref": _REF + "Base"}],
                    "discriminator": {"propertyName": "kind"},
                },
            },
        }
    schemas["Base"] = {
        "type": "object",
        "properties": {"created_at": {"type": "string", "format": "date-time"}},
    }
    paths: dict[str, Any] = {}
    for r in range((operations + 3) // 4):
        schema = {"$ref": f"{_REF}S{r % 60}"}
        listed = {"type": "array", "items": schema}
        ok = {"description": "ok", "content": {"application/json": {"schema": schema}}}
        body = {"required": True, "content": {"application/json": {"schema": schema}}}
        paths[f"/things{r}"] = {
            "get": {
                "operationId": f"listThings{r}",
                "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer"}}],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": listed}},
                    }
                },
            },
            "post": {
                "operationId": f"createThing{r}",
                "requestBody": body,
                "responses": {"201": ok},
            },
        }
        item = {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}
        paths[f"/things{r}/{{thing_id}}"] = {
            "parameters": [item],
            "get": {"operationId": f"getThing{r}", "responses": {"200": ok}},
            "patch": {
                "operationId": f"updateThing{r}",
                "requestBody": body,
                "responses": {"200": ok},
            },
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Bench Things API", "version": "1"},
        "servers": [{"url": "https://api.things.example/v1"}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }


def _best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure(quick: bool) -> dict[str, float]:
    """Seconds (min over interleaved rounds) and the ratios."""
    rounds = 2 if quick else 3
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = {}
        for n in (1000, 2000):
            docs[n] = root / f"things{n}.json"
            docs[n].write_text(json.dumps(synthetic_document(n)), encoding="utf-8")
            summary = build_all(docs[n], root / f"out{n}")
            assert not summary.refused, summary.refused[:3]
            assert len(summary.built) == n, summary
        runs: dict[str, Callable[[], object]] = {
            f"synthetic_{n}_all_s": partial(build_all, doc, root / f"o{n}")
            for n, doc in docs.items()
        }
        if GITHUB.is_file():
            summary = build_all(GITHUB, root / "github")
            out["github_operations"] = float(summary.total)
            out["github_built"] = float(len(summary.built))
            out["github_refused"] = float(len(summary.refused))
            runs["github_all_s"] = lambda: build_all(GITHUB, root / "gh")
            runs["github_load_s"] = lambda: OpenAPIDocument.load(GITHUB)
        for _ in range(rounds):  # interleaved: noise hits every figure alike
            for key, run in runs.items():
                out[key] = min(out.get(key, float("inf")), _best(run, 1))
        out["ratio_2000_vs_1000"] = out["synthetic_2000_all_s"] / out["synthetic_1000_all_s"]
        if GITHUB.is_file():
            out["ratio_github_all_vs_load"] = out["github_all_s"] / out["github_load_s"]
    return out


if __name__ == "__main__":
    for name, value in measure("--quick" in sys.argv).items():
        print(f"{name:32} {value:12.4f}  {TARGETS.get(name, '')}")
