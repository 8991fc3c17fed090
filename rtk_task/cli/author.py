"""Writing workflows: ``add`` a step to a file, ``export`` it for another engine."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("task")
@click.option(
    "--workflow",
    "workflow_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The workflow file (created if missing).",
)
@click.option("--id", "step_id", help="The new step's id (default: from the task id).")
def add(task: str, workflow_file: str, step_id: str | None) -> None:
    """Add a step for TASK to a workflow file, keeping its comments and order."""
    from ..workflows.authoring import add_step

    added = add_step(Path(workflow_file), task, step_id)
    click.echo(f"added step {added!r} ({task}) to {workflow_file}")
    click.echo(f"try it: rtk-task test {workflow_file} --step {added} --dry-run", err=True)


@click.command()
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Choice(["simworkflow", "conductor"]),
    help="The engine whose HTTP task JSON to write.",
)
@click.option("--base-url", help="Base URL to put in the URLs (default: each task's server).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.option(
    "--owner-email",
    default="rtk-task@example.com",
    show_default=True,
    help="Conductor: the definition's ownerEmail (a default server requires one).",
)
def export(
    workflow: str, target: str, base_url: str | None, output: str | None, owner_email: str
) -> None:
    """Export a workflow as SimWorkflow or Conductor HTTP tasks (secrets as references)."""
    from ..files import write_atomic
    from ..workflows.export import export_workflow
    from ..workflows.model import load_workflow

    text = export_workflow(
        load_workflow(workflow),
        target,  # type: ignore[arg-type]
        base_url=base_url,
        owner_email=owner_email,
    )
    if output:
        write_atomic(Path(output), text)
    else:
        click.echo(text, nl=False)
