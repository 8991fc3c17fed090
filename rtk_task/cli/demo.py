"""``rtk-task demo``: the embedded emulator and the example workflow, no credentials needed.

The host's join token is shown shortened, as ``run`` shows it; ``--json`` has it whole.
"""

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
    from ..workflows.check import check_workflow
    from ..workflows.model import load_workflow
    from ..workflows.runner import run_workflow
    from .present import format_step_line, show_value

    workflow = load_workflow(EXAMPLE)
    check_workflow(workflow, {}).raise_for_problems()  # as `run` does: nothing sent on a problem
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
        meeting, recording = results.get("get_meeting"), results.get("get_recording")
        if ok and meeting is not None and recording is not None:
            click.echo(
                f"\nmeeting {meeting.outputs.get('meeting_id')} "
                f"titled {meeting.outputs.get('title')!r} has its host "
                f"(preset {results['create_preset'].outputs.get('name')!r}, "
                f"token {show_value('token', results['add_host'].outputs.get('token'))}); "
                f"recording {recording.outputs.get('recording_id')} "
                f"is {recording.outputs.get('status')}"
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
