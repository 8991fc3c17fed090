"""``rtk-task import``: bring requests in from a cURL command, Conductor or n8n.

Each command reads its source, makes steps (:mod:`rtk_task.workflows.imports`) and either
adds them to ``--workflow FILE`` (comments kept, checked before writing) or prints a whole
workflow as YAML. What could not be carried over, and which environment variables hold the
credentials found, are printed on stderr; no credential value is ever printed or written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import ConfigError, Problem

__all__ = ["import_group"]


@click.group("import")
def import_group() -> None:
    """Import requests as workflow steps: from cURL, a Conductor or an n8n workflow."""


def _emit(steps: list, workflow_file: str | None, name: str) -> None:  # type: ignore[type-arg]
    from ..workflows.imports import to_data

    for s in steps:
        for note in s.notes:
            click.echo(f"note: {note}", err=True)
    if workflow_file is None:
        import json

        from ..workflows.imports.yamlout import dump
        from ..workflows.model import parse_workflow

        data = to_data(steps, name=name)
        # print only what loads: checked as JSON (the same data; its parser is the fast one)
        parse_workflow(json.dumps(data), "<imported>")
        click.echo(dump(data), nl=False)
        return
    from ..workflows.authoring import add_steps
    from ..workflows.imports import needed_hosts

    inputs: dict[str, dict[str, object]] = {}
    secrets: dict[str, str] = {}
    for s in steps:
        inputs.update(s.inputs)
        secrets.update(s.secrets)
    hosts = needed_hosts(steps)  # a templated URL host: the file needs `hosts:`
    added = add_steps(Path(workflow_file), [s.step for s in steps], inputs, secrets, hosts)
    for sid, s in zip(added, steps, strict=True):
        click.echo(f"added step {sid!r} ({s.step['task']}) to {workflow_file}")


@import_group.command("curl")
@click.argument("command", required=False)
@click.option("--workflow", "workflow_file", type=click.Path(dir_okay=False), help="Add to it.")
@click.option("--step", "step_id", help="The new step's id (default: from the task or URL).")
def curl(command: str | None, workflow_file: str | None, step_id: str | None) -> None:
    """Import a cURL COMMAND (or read it on stdin) as one step."""
    from ..workflows.imports import request_step
    from ..workflows.imports.curl import parse_curl

    text = command if command is not None else sys.stdin.read()
    if not text.strip():
        raise ConfigError(Problem("curl", "no command given", "rtk-task import curl 'curl ...'"))
    step = request_step(parse_curl(text), step_id)
    _emit([step], workflow_file, "imported")


@import_group.command("conductor")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--workflow", "workflow_file", type=click.Path(dir_okay=False), help="Add to it.")
def conductor(file: str, workflow_file: str | None) -> None:
    """Import a Conductor workflow's HTTP tasks as steps."""
    from ..workflows.imports.conductor import import_conductor

    imported = import_conductor(_read(file), file)
    _emit(imported.steps, workflow_file, imported.name)
    for note in imported.notes:
        click.echo(f"note: {note}", err=True)


@import_group.command("n8n")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--workflow", "workflow_file", type=click.Path(dir_okay=False), help="Add to it.")
def n8n(file: str, workflow_file: str | None) -> None:
    """Import an n8n workflow's HTTP Request nodes as steps, in connection order."""
    from ..workflows.imports.n8n import import_n8n

    imported = import_n8n(_read(file), file)
    for note in imported.notes:
        click.echo(f"note: {note}", err=True)
    _emit(imported.steps, workflow_file, imported.name)


def _read(file: str) -> str:
    from ..errors import FileError

    try:
        return Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(Problem(file, f"cannot read: {exc}")) from None
