"""Running things: ``call`` a task, ``test`` one step (the Test request button), ``run`` a
workflow on an engine."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import click

from ..engines import ENGINES
from ..errors import EXIT_BAD_INPUT, ConfigError, Problem
from ._common import echo_json, given_inputs, parse_pairs, read_json

# -- calling tasks ----------------------------------------------------------------------------

_common_call_options = [
    click.option(
        "--base-url", help="API base URL (default: $RTK_BASE_URL, then the task's server)."
    ),
    click.option(
        "--dry-run", is_flag=True, help="Show the rendered, validated request; send nothing."
    ),
    click.option("--curl", is_flag=True, help="Also print the request as a runnable cURL command."),
    click.option("--json", "as_json", is_flag=True, help="Print the TaskResult as JSON."),
]


_input_option = click.option(
    "--input",
    "input_pairs",
    multiple=True,
    metavar="NAME=VALUE|FILE",
    help="A workflow input, or a JSON file of them (repeatable; later ones win).",
)


def _call_options(func: Any) -> Any:
    for option in reversed(_common_call_options):
        func = option(func)
    return func


def _exit_code(result: Any) -> int:
    from ..result import NOT_SENT

    if result.ok:
        return 0
    return EXIT_BAD_INPUT if result.error is not None and result.error.kind in NOT_SENT else 1


def _show(result: Any, *, as_json: bool, curl_text: str | None, dry_run: bool) -> None:
    from .present import format_request, format_result

    if as_json:
        data = result.model_dump(mode="json")
        if dry_run:
            data = {
                "ok": result.ok,
                "dry_run": True,
                "request": data["request"],
                "error": data["error"],
            }
        if curl_text is not None:
            data["curl"] = curl_text
        echo_json(data)
    else:
        if dry_run and result.ok and result.request is not None:
            click.echo(click.style("dry run: nothing sent", fg="yellow"))
            click.echo(format_request(result.request))
        else:
            click.echo(format_result(result))
        if curl_text is not None:
            click.echo("\n" + curl_text)
    sys.exit(_exit_code(result))


@click.command("call")
@click.argument("task")
@click.option("--with", "with_", required=True, help="Inputs: a JSON file or - for stdin.")
@_call_options
def call_task(
    task: str, with_: str, base_url: str | None, dry_run: bool, curl: bool, as_json: bool
) -> None:
    """Call one task with inputs from a JSON file, no workflow needed."""
    from ..execute import preview
    from ..manifests.registry import load_task

    manifest_ = load_task(task)
    inputs = read_json(with_)
    if not isinstance(inputs, dict):
        raise ConfigError(Problem(with_, "inputs must be a JSON object"))
    result, curl_text = preview(manifest_, inputs, base_url=base_url)
    if not dry_run and result.ok:
        from ..client import Client

        with Client(base_url=base_url) as client:
            result = client.call(manifest_, inputs)
    _show(result, as_json=as_json, curl_text=curl_text if curl else None, dry_run=dry_run)


def _workflow_inputs(
    wf: Any, args: tuple[str, ...], only: set[str] | None = None
) -> dict[str, Any]:
    """``--input`` values (``NAME=VALUE`` or JSON files) in the workflow's declared types,
    defaults filled."""
    from ..errors import WorkflowError

    given, problems = given_inputs(wf.inputs, args, unknown=False)
    WorkflowError.collect(problems)
    resolved: dict[str, Any] = wf.resolve_inputs(given, only=only)
    return resolved


def _step_outputs(
    wf: Any, step: Any, pairs: tuple[str, ...], target: str
) -> dict[str, dict[str, Any]]:
    """Outputs of the steps ``step`` reads: ``--output`` values, else the newest records made
    against ``target``."""
    from ..errors import WorkflowError
    from ..workflows.records import latest_outputs

    outputs: dict[str, dict[str, Any]] = {}
    for name, text in parse_pairs(pairs, "--output"):
        sid, _, out = name.partition(".")
        try:
            value: Any = json.loads(text)
        except (ValueError, RecursionError):
            value = text
        outputs.setdefault(sid, {})[out] = value
    WorkflowError.collect(_unknown_outputs(wf, step, outputs))
    if from_flags := sorted(set(step.needs) & set(outputs)):
        click.echo(f"using --output values for {', '.join(from_flags)}", err=True)
    needed = set(step.needs) - set(outputs)
    recorded = latest_outputs(wf.file, needed, target=target)
    for sid, (values, path) in sorted(recorded.items()):
        outputs[sid] = values
        click.echo(f"using the outputs of {sid} recorded in {path}", err=True)
    missing = sorted(set(step.needs) - set(outputs))
    if missing:
        raise WorkflowError(
            Problem(
                f"{wf.file}: step {step.id}",
                f"reads the outputs of {', '.join(missing)}, which have not run against "
                + (target or "each task's own server"),
                f"test {missing[0]} first (outputs recorded against another target are not "
                f"reused), or pass --output {missing[0]}.NAME=VALUE",
            )
        )
    return outputs


def _unknown_outputs(wf: Any, step: Any, given: dict[str, dict[str, Any]]) -> list[Problem]:
    """A problem for each ``--output S.O`` naming no step, or an output S does not have."""
    from ..errors import did_you_mean
    from ..workflows.references import step_outputs

    ids = [s.id for s in wf.steps if s.id != step.id]
    problems: list[Problem] = []
    for sid, values in given.items():
        if sid not in ids:
            # the steps this one reads first: the likeliest meant
            pool = [*sorted(step.needs), *(i for i in ids if i not in step.needs)]
            problems.append(
                Problem(
                    f"--output {sid}.{next(iter(values))}",
                    f"no step {sid!r}" if sid != step.id else "a step's own outputs are not inputs",
                    did_you_mean(sid, pool) or f"steps: {', '.join(pool) or 'none'}",
                )
            )
            continue
        names = step_outputs(wf, wf.step(sid))
        problems.extend(
            Problem(
                f"--output {sid}.{out}",
                f"step {sid} has no output {out!r}" if out else "no output named",
                did_you_mean(out, names) or f"outputs of {sid}: {', '.join(names) or 'none'}",
            )
            for out in values
            if out not in names
        )
    return problems


@click.command("test")
@click.argument("workflow", type=click.Path(dir_okay=False))
@click.option("--step", "step_id", required=True, help="The step to run.")
@_input_option
@click.option(
    "--output",
    "output_pairs",
    multiple=True,
    metavar="STEP.NAME=VALUE",
    help="An output of an earlier step this step reads (repeatable).",
)
@_call_options
def test_step(
    workflow: str,
    step_id: str,
    input_pairs: tuple[str, ...],
    output_pairs: tuple[str, ...],
    base_url: str | None,
    dry_run: bool,
    curl: bool,
    as_json: bool,
) -> None:
    """Run one step of a workflow alone: the Test request button.

    A step that reads earlier steps' outputs takes them from --output, else from the newest
    run records in .rtk-task/runs/.
    """
    from ..execute import preview
    from ..workflows.model import load_workflow
    from ..workflows.step import start_step

    wf = load_workflow(workflow)
    step = wf.step(step_id)
    used = {c[1] for c in step.references() if c[0] == "inputs" and len(c) > 1}
    inputs = _workflow_inputs(wf, input_pairs, only=used)
    from ..workflows.check import check_workflow

    check_workflow(wf, inputs, steps={step.id}).raise_for_problems()  # nothing sent on a problem
    _warn_short_secrets(wf)
    target = _target(base_url)
    outputs = _step_outputs(wf, step, output_pairs, target)
    run, failed = start_step(wf, step, inputs, outputs)  # masks as `run` does
    if run is None:
        assert failed is not None
        _show(failed, as_json=as_json, curl_text=None, dry_run=dry_run)
        return
    manifest_ = run.manifest  # an http step's templated host: the one it renders to
    # the cURL text reads each secret from its variable, as the shell will fill it in
    secret_env = {value: wf.secrets[name] for name, value in run.secrets.items()}
    result, curl_text = preview(
        manifest_,
        run.inputs,
        base_url=base_url,
        secrets=run.secrets.values(),
        secret_env=secret_env,
    )
    if not dry_run and result.ok:
        from ..client import Client
        from ..secrets import Redactor
        from ..workflows.records import RunRecord

        redactor = Redactor.from_env(manifest_.auth.variables, *run.secrets.values())
        record = RunRecord(
            wf.file,
            wf.name,
            inputs=inputs,
            redactor=redactor,
            kind="test",
            step_id=step.id,
            target=target,
        )
        record.begin()  # nothing is sent without a record: a FileError here exits 2
        record.started(step.id, step.task)
        try:
            with Client(base_url=base_url) as client:
                result = run.call(client)
        except KeyboardInterrupt:
            record.end(ok=False, state="interrupted")
            raise
        record.finished(step.id, result)
        record.end(ok=result.ok)
        if record.error is not None:
            click.echo(f"warning: the run record is incomplete: {record.error.render()}", err=True)
    _show(result, as_json=as_json, curl_text=curl_text if curl else None, dry_run=dry_run)


@click.command("run")
@click.argument("workflow", type=click.Path(dir_okay=False))
@_input_option
@click.option("--base-url", help="API base URL (default: $RTK_BASE_URL, then each task's server).")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="local",
    show_default=True,
    help="Where the steps run.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Independent steps run at once (local engine).",
)
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"ok", "steps": {id: TaskResult}, "outputs"}.'
)
@click.option(
    "--details", is_flag=True, help="Keep every for_each item's full result (not a summary)."
)
@click.option(
    "--task-queue",
    help="Temporal: hand the run to the workers serving this queue (RTK_TEMPORAL_ADDRESS).",
)
@click.option(
    "--local-worker",
    is_flag=True,
    help="Temporal, with --task-queue: run a worker in this process too.",
)
def run_cmd(
    workflow: str,
    input_pairs: tuple[str, ...],
    base_url: str | None,
    engine: str,
    concurrency: int,
    as_json: bool,
    details: bool = False,
    task_queue: str | None = None,
    local_worker: bool = False,
) -> None:
    """Run a workflow: steps in dependency order, each step's status as it finishes.

    The run record (.rtk-task/runs/) is written before the first request and kept up to date:
    an interrupt (Ctrl-C: exit 130; SIGTERM: 143) or a failing disk leaves one that says
    which steps were sent with an unknown outcome.
    """
    from ..engines import get_engine
    from ..secrets import Redactor
    from ..workflows.model import load_workflow
    from ..workflows.records import RunRecord
    from .present import format_expectation, format_output_line, format_step_line

    wf = load_workflow(workflow)
    inputs = _workflow_inputs(wf, input_pairs)
    from ..workflows.check import check_workflow

    check_workflow(wf, inputs).raise_for_problems()  # the whole workflow, before any request
    _warn_short_secrets(wf)
    # the credential rule: each task's own variables
    token_envs = {v for s in wf.steps for v in wf.manifest(s).auth.variables}
    from ..secret_sources import read_secret

    redactor = Redactor.from_env(token_envs, *(read_secret(s) for s in wf.secrets.values()))
    target = _target(base_url)
    record = RunRecord(wf.file, wf.name, inputs=inputs, redactor=redactor, target=target)
    options: dict[str, Any] = {}
    if task_queue:
        if engine != "temporal":
            raise ConfigError(
                Problem("--task-queue", "a task queue is Temporal's", "add --engine temporal")
            )
        options = {"task_queue": task_queue, "local_worker": local_worker}
    runner = get_engine(engine, concurrency=concurrency, **options)
    record.begin()  # nothing is sent without a record: a FileError here exits 2

    def started(step: Any) -> None:
        record.started(step.id, step.task)

    def show(step: Any, result: Any) -> None:
        record.finished(step.id, result)
        if not as_json:
            click.echo(format_step_line(step.id, result))
            for line in result.expectations:  # each failed expect: line under its step
                if not line.get("ok"):
                    click.echo(format_expectation(line))

    with _signals_as_interrupts() as caught:
        try:
            run = runner.run(
                wf, inputs, base_url=base_url, on_step=show, on_start=started, details=details
            )
        except KeyboardInterrupt:
            record.end(ok=False, state="interrupted")
            _interrupted(record, caught[0] if caught else signal.SIGINT)
        except BaseException:
            record.end(ok=False, state="crashed")
            raise
    record.end(ok=run.ok)
    if as_json:
        echo_json(redactor.value(run.to_json()))
    else:
        for name, value in redactor.value(run.outputs).items():
            click.echo(format_output_line(name, value))
        if run.output_error:
            click.echo(f"outputs failed: {redactor.text(run.output_error)}")
        click.echo(
            f"{'ok' if run.ok else 'failed'}: {wf.name} ({len(run.steps)} steps); "
            + (f"recorded in {record.path}" if record.error is None else "NOT recorded")
        )
    if record.error is not None:
        click.echo(
            click.style("error: ", fg="red", bold=True)
            + "the run record could not be completed; the steps above were sent. "
            + record.error.render(),
            err=True,
        )
        sys.exit(1)
    sent_nothing = all(not r.sent for r in run.steps.values() if not r.ok)
    sys.exit(0 if run.ok else (EXIT_BAD_INPUT if sent_nothing else 1))


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[list[signal.Signals]]:
    """SIGTERM handled as Ctrl-C (the run is cancelled cleanly); the signal caught is listed."""
    caught: list[signal.Signals] = []

    def on_term(signum: int, frame: Any) -> None:
        caught.append(signal.Signals(signum))
        signal.raise_signal(signal.SIGINT)  # asyncio cancels the run on SIGINT, not SIGTERM

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (an embedding caller): leave signals alone
        yield caught
        return
    try:
        yield caught
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(record: Any, signum: signal.Signals) -> NoReturn:
    """Report an interrupted run and exit 128 + the signal's number."""
    unknown = ", ".join(sorted(record.unknown)) or "none"
    where = f"recorded in {record.path}" if record.error is None else "NOT recorded"
    click.echo(
        f"interrupted ({signum.name}): steps sent with an unknown outcome: {unknown}; {where}",
        err=True,
    )
    if record.error is not None:
        click.echo(click.style("error: ", fg="red", bold=True) + record.error.render(), err=True)
    sys.exit(128 + int(signum))


def _warn_short_secrets(wf: Any) -> None:
    """A warning on stderr for each declared secret whose value is short (masked only where
    it is a whole value); names and lines only, never the value."""
    from ..secret_sources import read_secret
    from ..workflows.secret_flow import short_secret_warnings

    values = {name: read_secret(source) for name, source in wf.secrets.items()}
    for finding in short_secret_warnings(wf, values):
        where = wf.locate(finding.loc)
        click.echo(f"warning: {where}: {finding.message}\n  hint: {finding.hint}", err=True)


def _target(base_url: str | None) -> str:
    """Where this command's requests go, as records key it: ``--base-url``, else
    ``RTK_BASE_URL``, else ``""`` (each task's own server)."""
    return base_url or os.environ.get("RTK_BASE_URL") or ""
