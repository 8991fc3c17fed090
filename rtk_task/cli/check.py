"""``rtk-task check``: a whole workflow checked before its first request; sends nothing.

Exit 0 when the workflow is clean, 2 with every problem (``FILE:LINE``, field path, what,
hint) otherwise. ``--json`` prints the report, including the fields left to run time.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import EXIT_BAD_INPUT, Problem, RtkError, WorkflowError
from ._common import echo_json, given_inputs

__all__ = ["check_cmd"]


@click.command("check")
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option(
    "--input",
    "input_pairs",
    multiple=True,
    metavar="NAME=VALUE|FILE",
    help="A workflow input to check as given, or a JSON file of them (repeatable); others "
    "are checked by type.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_cmd(workflow: str, input_pairs: tuple[str, ...], as_json: bool) -> None:
    """Check a workflow without sending anything: values, references, types, order."""
    from ..workflows.check import check_workflow
    from ..workflows.model import load_workflow

    try:
        wf = load_workflow(workflow, references=False)
        report = check_workflow(wf, _given_inputs(wf, input_pairs))
    except RtkError as exc:
        if not as_json:
            raise
        echo_json({"ok": False, "file": workflow, "problems": _problems_json(exc.problems)})
        sys.exit(exc.exit_code)
    if as_json:
        echo_json(report.to_json())
    elif report.ok:
        click.echo(f"ok: {wf.name} ({report.steps} steps checked)")
        if report.deferred:
            click.echo(f"left to run time ({len(report.deferred)}):")
            for d in report.deferred:
                click.echo(f"  {d.field}: {d.why}")
    else:
        for problem in report.problems:
            click.echo(click.style("error: ", fg="red", bold=True) + str(problem), err=True)
        click.echo(f"{len(report.problems)} problem(s) in {wf.file}; nothing was sent", err=True)
    sys.exit(0 if report.ok else EXIT_BAD_INPUT)


def _given_inputs(wf: Any, args: tuple[str, ...]) -> dict[str, Any]:
    """The ``--input`` values given (pairs or JSON files), in their declared types (none is
    required here)."""
    given, problems = given_inputs(wf.inputs, args)
    WorkflowError.collect(problems)
    return given


def _problems_json(problems: tuple[Problem, ...]) -> list[dict[str, str]]:
    return [{"where": p.where, "message": p.message, "hint": p.hint} for p in problems]
