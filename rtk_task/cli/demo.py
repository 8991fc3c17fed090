"""``rtk-task demo``: the embedded emulator and the example workflow, no credentials needed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..result import TaskResult
    from ..workflows.model import Step

__all__ = ["EXAMPLE", "demo", "run_demo"]

EXAMPLE = Path(__file__).parent.parent / "examples" / "onboard-call.yaml"
_DEMO_TOKEN = "demo-token-not-a-secret"


def run_demo(*, as_json: bool = False) -> int:
    """Run the example workflow against a fresh emulator on loopback; the exit code."""
    from ..emulator import EmulatorServer
    from ..workflows.model import load_workflow
    from ..workflows.runner import run_workflow
    from .present import format_step_line

    workflow = load_workflow(EXAMPLE)
    with EmulatorServer(host="127.0.0.1", port=0, token=_DEMO_TOKEN) as server:
        if not as_json:
            click.echo(f"emulator: {server.base_url}")
            click.echo(f"workflow: {EXAMPLE.name} ({len(workflow.steps)} steps)\n")

        def show(step: Step, result: TaskResult) -> None:
            if not as_json:
                click.echo(format_step_line(step.id, result))

        run = run_workflow(workflow, {}, base_url=server.base_url, token=_DEMO_TOKEN, on_step=show)
    results, ok = run.steps, run.ok
    if as_json:
        click.echo(json.dumps(run.to_json(), indent=2))
    else:
        last = results.get("get_meeting")
        if ok and last is not None:
            click.echo(
                f"\nmeeting {last.outputs.get('meeting_id')} "
                f"titled {last.outputs.get('title')!r} has its host; "
                f"host token {str(results['add_host'].outputs.get('token'))[:12]}..."
            )
        else:
            failed = next((r for r in results.values() if not r.ok), None)
            if failed is not None and failed.error is not None:
                click.echo(f"\nfailed: {failed.error.message}", err=True)
    return 0 if ok else 1


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print every step's TaskResult as JSON.")
def demo(as_json: bool) -> None:
    """Start the embedded emulator and run the example workflow against it."""
    sys.exit(run_demo(as_json=as_json))
