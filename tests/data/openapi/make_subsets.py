"""Cut the self-contained subsets in this folder out of their full public documents.

    python tests/data/openapi/make_subsets.py github
        reads github.api.json.gz (beside this file), writes oneof_github_subset.json
    python tests/data/openapi/make_subsets.py chargebee CHARGEBEE_API_V1_SPEC_JSON
        reads Chargebee's spec/chargebee_api_v1_spec.json (SOURCES.md names the commit),
        writes form_chargebee.json
    python tests/data/openapi/make_subsets.py stripe STRIPE_SPEC3_JSON
        reads Stripe's openapi/spec3.json (SOURCES.md names the commit), writes form_stripe.json

A subset keeps the chosen operations unchanged (as JSON values, written out again with
2-space indents), their path-level parameters, and every component they reach through
``$ref`` (transitively); nothing else of ``components`` is kept. Top-level ``tags`` keep
only the tags the chosen operations use, and GitHub's top-level ``x-webhooks`` extension is
dropped. Every ``$ref`` in the result is checked to resolve inside the result.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

GITHUB_OPERATIONS = (
    # issues
    "issues/list-for-repo",
    "issues/create",
    "issues/get",
    "issues/update",
    "issues/lock",
    "issues/unlock",
    "issues/add-assignees",
    "issues/remove-assignees",
    "issues/list-comments",
    "issues/create-comment",
    "issues/list-comments-for-repo",
    "issues/get-comment",
    "issues/update-comment",
    "issues/delete-comment",
    "issues/list-events",
    # labels
    "issues/list-labels-for-repo",
    "issues/create-label",
    "issues/get-label",
    "issues/update-label",
    "issues/delete-label",
    "issues/list-labels-on-issue",
    "issues/add-labels",
    "issues/set-labels",
    "issues/remove-all-labels",
    "issues/remove-label",
    # repos
    "repos/get",
    "repos/update",
    "repos/delete",
    "repos/list-for-org",
    "repos/create-in-org",
    "repos/list-for-authenticated-user",
    "repos/create-for-authenticated-user",
    "repos/list-for-user",
    "repos/get-all-topics",
    "repos/replace-all-topics",
    "repos/list-languages",
    "repos/list-tags",
    "repos/list-contributors",
    "repos/list-forks",
    "repos/create-fork",
    "repos/create-dispatch-event",
    "repos/list-branches",
)

#: Chargebee's API v1 description: every operation under these path prefixes.
CHARGEBEE_PREFIXES = ("/customers", "/subscriptions")


#: Stripe's spec3.json: form bodies with deepObject encodings, but Prism 5 never starts on it
#: (SOURCES.md); kept so that form_stripe.json can be remade.
STRIPE_OPERATIONS = (
    ("/v1/customers", "get"),
    ("/v1/customers", "post"),
    ("/v1/customers/{customer}", "get"),
    ("/v1/customers/{customer}", "post"),
    ("/v1/customers/{customer}", "delete"),
    ("/v1/customers/{customer}/tax_ids", "get"),
    ("/v1/customers/{customer}/tax_ids", "post"),
    ("/v1/products", "get"),
    ("/v1/products", "post"),
    ("/v1/products/{id}", "get"),
    ("/v1/products/{id}", "post"),
    ("/v1/products/{id}", "delete"),
    ("/v1/prices", "get"),
    ("/v1/prices", "post"),
    ("/v1/prices/{price}", "get"),
    ("/v1/prices/{price}", "post"),
    ("/v1/payment_intents", "get"),
    ("/v1/payment_intents", "post"),
    ("/v1/payment_intents/{intent}", "get"),
    ("/v1/payment_intents/{intent}", "post"),
    ("/v1/payment_intents/{intent}/confirm", "post"),
    ("/v1/payment_intents/{intent}/cancel", "post"),
    ("/v1/subscriptions", "get"),
    ("/v1/subscriptions", "post"),
    ("/v1/subscriptions/{subscription_exposed_id}", "get"),
    ("/v1/subscriptions/{subscription_exposed_id}", "post"),
    ("/v1/subscriptions/{subscription_exposed_id}", "delete"),
    ("/v1/checkout/sessions", "get"),
    ("/v1/checkout/sessions", "post"),
    ("/v1/checkout/sessions/{session}", "get"),
    ("/v1/coupons", "get"),
    ("/v1/coupons", "post"),
)


def refs(node: Any) -> set[str]:
    """Every ``$ref`` string anywhere under ``node``."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def resolve(document: Any, ref: str) -> Any:
    """The value an internal ``#/...`` JSON pointer names; KeyError if it names nothing."""
    if not ref.startswith("#/"):
        raise KeyError(f"not an internal reference: {ref}")
    node = document
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def unresolved(document: Any) -> list[str]:
    """The ``$ref`` values in ``document`` that do not resolve inside it."""
    missing = []
    for ref in sorted(refs(document)):
        try:
            resolve(document, ref)
        except (KeyError, IndexError, ValueError):
            missing.append(ref)
    return missing


def subset(document: dict[str, Any], chosen: list[tuple[str, str]]) -> dict[str, Any]:
    """``document`` cut down to ``chosen`` (path, method) operations and what they reach."""
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        methods = [method for method in item if (path, method) in chosen]
        if methods:
            kept = {k: v for k, v in item.items() if k not in METHODS or k in methods}
            paths[path] = kept
    reached: set[str] = set()
    todo = refs(paths)
    while todo:
        ref = todo.pop()
        if ref not in reached:
            reached.add(ref)
            todo |= refs(resolve(document, ref))
    components: dict[str, Any] = {}
    for kind, entries in document.get("components", {}).items():
        if kind == "securitySchemes":
            components[kind] = entries  # named by `security`, not by $ref
            continue
        kept = {
            name: value
            for name, value in entries.items()
            if f"#/components/{kind}/{name.replace('~', '~0').replace('/', '~1')}" in reached
        }
        if kept:
            components[kind] = kept
    used_tags = {
        tag
        for item in paths.values()
        for method, op in item.items()
        if method in METHODS
        for tag in op.get("tags", [])
    }
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "paths":
            out[key] = paths
        elif key == "components":
            out[key] = components
        elif key == "tags":
            out[key] = [tag for tag in value if tag["name"] in used_tags]
        elif key != "x-webhooks":
            out[key] = value
    missing = unresolved(out)
    if missing:
        raise SystemExit(f"unresolved $ref in the subset: {missing[:10]}")
    count = sum(1 for item in paths.values() for m in item if m in METHODS)
    if count != len(chosen):
        raise SystemExit(f"chose {len(chosen)} operations, found {count}")
    return out


def write(document: dict[str, Any], name: str) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    (HERE / name).write_text(text, encoding="utf-8")
    count = sum(1 for item in document["paths"].values() for m in item if m in METHODS)
    print(f"{name}: {count} operations, {len(text.encode())} bytes")


def main(argv: list[str]) -> None:
    if argv[:1] == ["github"]:
        with gzip.open(HERE / "github.api.json.gz", "rt", encoding="utf-8") as handle:
            full = json.load(handle)
        by_id = {
            op["operationId"]: (path, method)
            for path, item in full["paths"].items()
            for method, op in item.items()
            if method in METHODS
        }
        write(subset(full, [by_id[name] for name in GITHUB_OPERATIONS]), "oneof_github_subset.json")
    elif argv[:1] == ["chargebee"] and len(argv) == 2:
        full = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        chosen = [
            (path, method)
            for path, item in full["paths"].items()
            if path.startswith(CHARGEBEE_PREFIXES)
            for method in item
            if method in METHODS
        ]
        write(subset(full, chosen), "form_chargebee.json")
    elif argv[:1] == ["stripe"] and len(argv) == 2:
        full = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        write(subset(full, list(STRIPE_OPERATIONS)), "form_stripe.json")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
