"""Browsing tasks: ``list``, ``search``, ``show``, ``schema``, ``validate``.

``list`` and ``show`` say when a task is the user's own manifest (on ``RTK_MANIFEST_PATH``)
standing in for a shipped one of the same id, so that nobody wonders why it differs.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Any

import click

from ..errors import RtkError
from ._common import echo_json, read_json

#: What ``list`` and ``show`` add to a user's manifest that replaces a shipped one.
OVERRIDES = "(yours; overrides the shipped one)"


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_tasks(as_json: bool) -> None:
    """List every task, under a heading per resource."""
    from ..manifests.registry import all_tasks, overridden_ids
    from ..providers import provider_for

    tasks = all_tasks()
    resources = {m.id: provider_for(m.path).resource(m.id) for m in tasks}
    overridden = overridden_ids()
    if as_json:
        echo_json(
            [
                {
                    "id": m.id,
                    "resource": resources[m.id],
                    "method": m.method,
                    "path": m.path,
                    "summary": m.summary,
                    "overrides_shipped": m.id in overridden,
                }
                for m in tasks
            ]
        )
        return
    groups: dict[str, list[Any]] = {}
    for m in tasks:
        groups.setdefault(resources[m.id], []).append(m)
    width = max((len(m.id) for m in tasks), default=0)
    for n, (resource, members) in enumerate(sorted(groups.items())):
        click.echo(("\n" if n else "") + click.style(f"{resource} ({len(members)})", bold=True))
        for m in members:
            mine = f"  {OVERRIDES}" if m.id in overridden else ""
            click.echo(f"  {m.id:{width}}  {m.method:6} {m.summary or m.path}{mine}")


@click.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(words: tuple[str, ...], as_json: bool) -> None:
    """Find tasks by words in their id, summary, description, path, operation or parameters.

    Every word must appear somewhere; a word in the id counts most. ``_`` and ``-`` match a
    space, so "kick all" finds ``kick_all`` and "live stream" finds ``livestream``.
    """
    from ..manifests.registry import all_tasks

    scored = []
    words = tuple(w.lower().replace("_", " ").replace("-", " ") for w in words)
    words = tuple(part for w in words for part in w.split())
    for m in all_tasks():
        names = " ".join(
            path
            for loc in ("path", "query", "body")
            for root in getattr(m.parameters, loc)
            for path, _ in root.walk()
        )
        operations = " ".join(s.operation or "" for s in m.provenance)
        hay = f"{m.id} {m.summary} {m.description} {m.method} {m.path} {operations}".lower()
        names = names.lower()
        score = sum(3 * (w in m.id) + (w in hay) + (w in names) for w in words)
        if all(w in f"{hay} {names}" for w in words):
            scored.append((-score, m.id, m))
    scored.sort(key=lambda s: (s[0], s[1]))
    if as_json:
        echo_json([{"id": m.id, "summary": m.summary} for _, _, m in scored])
    elif not scored:
        click.echo("no task matches; `rtk-task list` shows them all", err=True)
    for _, _, m in scored if not as_json else ():
        click.echo(f"{m.id}  {m.summary}")


@click.command()
@click.argument("task")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest JSON.")
def show(task: str, as_json: bool) -> None:
    """Show a task: request, parameters, outputs."""
    from ..manifests.registry import find_manifest, load_task, overridden_ids
    from .describe import describe

    m = load_task(task)
    if m.id in overridden_ids():
        # on stderr with --json: the JSON stays the manifest itself
        click.echo(f"{m.id} {OVERRIDES}: {find_manifest(m.id)}", err=as_json)
    click.echo(m.to_json() if as_json else describe(m), nl=not as_json)


@click.command()
@click.argument("task")
def schema(task: str) -> None:
    """Print the JSON Schema (draft 2020-12) of a task's step inputs."""
    from ..inputs import input_schema
    from ..manifests.registry import load_task

    echo_json(input_schema(load_task(task)))


@click.command()
@click.argument("task")
@click.option("--with", "with_", required=True, help="Step inputs: a JSON file or - for stdin.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def validate(task: str, with_: str, as_json: bool) -> None:
    """Check step inputs against a task; print the problems, or OK."""
    from ..inputs import validate_inputs
    from ..manifests.registry import load_task

    try:
        validate_inputs(load_task(task), read_json(with_))
    except RtkError as exc:
        if as_json:  # every problem as JSON, whatever stage found it
            echo_json({"ok": False, "problems": [asdict(p) for p in exc.problems]})
            sys.exit(exc.exit_code)
        raise
    if as_json:
        echo_json({"ok": True, "problems": []})
    else:
        click.echo("OK")
