"""The ``rtk-task`` command line: parse arguments, call the pipeline, print.

Exit codes: 0 ok, 1 the remote call failed (or a check found a difference), 2 bad input and
nothing was sent. Our errors print as one readable message; a traceback means a bug.
Modules are imported inside commands so that ``rtk-task`` starts fast.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

import click

from .errors import EXIT_BAD_INPUT, Problem, RtkError

__all__ = ["cli", "main"]


def _fail(error: RtkError) -> NoReturn:
    click.echo(click.style("error: ", fg="red", bold=True) + error.render(), err=True)
    sys.exit(error.exit_code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        cli.main(args=argv, prog_name="rtk-task", standalone_mode=False)
    except RtkError as exc:
        _fail(exc)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def read_json(source: str) -> Any:
    """JSON from a file or ``-`` (stdin), with ``FILE:LINE:COL`` on a syntax error."""
    name = "<stdin>" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RtkError(Problem(name, f"cannot read: {exc}")) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RtkError(
            Problem(
                f"{name}:{exc.lineno}:{exc.colno}",
                f"not JSON: {exc.msg}",
                "strings need double quotes; no trailing commas",
            )
        ) from None


class _LazyGroup(click.Group):
    """A group whose heavier commands are imported only when they run."""

    lazy: dict[str, str] = {  # noqa: RUF012 - a class-level table, never mutated
        "emulator": "rtk_task.emulator.command:emulator_command",
        "temporal": "rtk_task.temporal:temporal_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attr = self.lazy[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rtk-task")
def cli() -> None:
    """HTTP tasks for workflows, built from API reference docs (Cloudflare RealtimeKit)."""


# -- manifests --------------------------------------------------------------------------------


@cli.group()
def manifest() -> None:
    """Build manifests from docs pages and OpenAPI documents."""


@manifest.command("build")
@click.argument("docs", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--openapi",
    "spec",
    type=click.Path(dir_okay=False),
    help="OpenAPI 3 document: the operation alone, or to fill what DOCS leaves empty.",
)
@click.option("--operation", help='operationId or "METHOD /path" in --openapi.')
@click.option("--id", "task_id", help="Task id (default: derived from the path).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here, not stdout.")
def manifest_build(
    docs: str | None,
    spec: str | None,
    operation: str | None,
    task_id: str | None,
    output: str | None,
) -> None:
    """Build a manifest from DOCS, from --openapi --operation, or DOCS overlaid on --openapi."""
    from .build import build_manifest
    from .files import write_atomic

    built = build_manifest(docs, openapi=spec, operation=operation, task_id=task_id)
    if built.drift:
        click.echo(f"drift between {docs} and {spec} (the page wins):", err=True)
        for drift in built.drift:
            click.echo(f"  {drift}", err=True)
    text = built.manifest.to_json()
    if output:
        write_atomic(Path(output), text)
        click.echo(f"wrote {output} ({built.manifest.id})", err=True)
    else:
        click.echo(text, nl=False)


@manifest.command("rebuild")
@click.argument("folder", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any manifest differs.")
def manifest_rebuild(folder: str | None, check: bool) -> None:
    """Build every manifest in FOLDER (default: the shipped ones) again from its sources."""
    from .build import rebuild
    from .files import write_atomic
    from .registry import shipped_dir

    base = Path(folder) if folder else shipped_dir()
    stale: list[Path] = []
    broken: list[RtkError] = []
    for file in sorted(base.glob("*.json")):
        try:
            text = rebuild(file).manifest.to_json()
        except RtkError as exc:  # report it, and go on with the others
            broken.append(exc)
            click.echo(click.style("error: ", fg="red", bold=True) + exc.render(), err=True)
            continue
        if text == file.read_text(encoding="utf-8"):
            click.echo(f"{'ok':8} {file}")
            continue
        stale.append(file)
        if check:
            click.echo(f"{'differs':8} {file}")
        else:
            write_atomic(file, text)
            click.echo(f"{'rebuilt':8} {file}")
    if broken:
        sys.exit(EXIT_BAD_INPUT)
    if check and stale:
        click.echo(f"{len(stale)} manifest(s) differ from their sources", err=True)
        sys.exit(1)


# -- browsing tasks ---------------------------------------------------------------------------


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_tasks(as_json: bool) -> None:
    """List every task."""
    from .registry import all_tasks

    tasks = all_tasks()
    if as_json:
        _echo_json(
            [{"id": m.id, "method": m.method, "path": m.path, "summary": m.summary} for m in tasks]
        )
        return
    width = max((len(m.id) for m in tasks), default=0)
    for m in tasks:
        click.echo(f"{m.id:{width}}  {m.method:6} {m.path}")


@cli.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search(words: tuple[str, ...], as_json: bool) -> None:
    """Find tasks by words in their id, summary, path or parameters."""
    from .registry import all_tasks

    scored = []
    for m in all_tasks():
        names = " ".join(
            path
            for loc in ("path", "query", "body")
            for root in getattr(m.parameters, loc)
            for path, _ in root.walk()
        )
        hay = f"{m.id} {m.summary} {m.description} {m.method} {m.path}".lower()
        score = sum(
            3 * (w.lower() in m.id) + (w.lower() in hay) + (w.lower() in names) for w in words
        )
        if all(w.lower() in f"{hay} {names}" for w in words):
            scored.append((-score, m.id, m))
    scored.sort(key=lambda s: (s[0], s[1]))
    if as_json:
        _echo_json([{"id": m.id, "summary": m.summary} for _, _, m in scored])
    elif not scored:
        click.echo("no task matches; `rtk-task list` shows them all", err=True)
    for _, _, m in scored if not as_json else ():
        click.echo(f"{m.id}  {m.summary}")


@cli.command()
@click.argument("task")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest JSON.")
def show(task: str, as_json: bool) -> None:
    """Show a task: request, parameters, outputs."""
    from .registry import load_task
    from .show import describe

    m = load_task(task)
    click.echo(m.to_json() if as_json else describe(m), nl=not as_json)


@cli.command()
@click.argument("task")
def schema(task: str) -> None:
    """Print the JSON Schema (draft 2020-12) of a task's step inputs."""
    from .inputs import input_schema
    from .registry import load_task

    _echo_json(input_schema(load_task(task)))


@cli.command()
@click.argument("task")
@click.option("--with", "with_", required=True, help="Step inputs: a JSON file or - for stdin.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def validate(task: str, with_: str, as_json: bool) -> None:
    """Check step inputs against a task; print the problems, or OK."""
    from .inputs import validate_inputs
    from .registry import load_task

    try:
        validate_inputs(load_task(task), read_json(with_))
    except RtkError as exc:
        if as_json:  # every problem as JSON, whatever stage found it
            _echo_json({"ok": False, "problems": [asdict(p) for p in exc.problems]})
            sys.exit(exc.exit_code)
        raise
    if as_json:
        _echo_json({"ok": True, "problems": []})
    else:
        click.echo("OK")


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
    metavar="NAME=VALUE",
    help="A workflow input (repeatable).",
)


def _call_options(func: Any) -> Any:
    for option in reversed(_common_call_options):
        func = option(func)
    return func


def _exit_code(result: Any) -> int:
    from .result import NOT_SENT

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
        _echo_json(data)
    else:
        if dry_run and result.ok and result.request is not None:
            click.echo(click.style("dry run: nothing sent", fg="yellow"))
            click.echo(format_request(result.request))
        else:
            click.echo(format_result(result))
        if curl_text is not None:
            click.echo("\n" + curl_text)
    sys.exit(_exit_code(result))


def _dry_run(client: Any, task: Any, inputs: dict[str, Any], secrets: Any = ()) -> tuple[Any, str]:
    """A TaskResult holding the request that would be sent, and its cURL text."""
    from .result import TaskResult

    prepared = client.prepare(task, inputs)
    if isinstance(prepared, TaskResult):
        return prepared, ""
    redactor = prepared.redactor.extend(secrets)
    return (
        TaskResult(ok=True, task=prepared.manifest.id, request=prepared.request.info(redactor)),
        prepared.request.curl(redactor),
    )


@cli.command("call")
@click.argument("task")
@click.option("--with", "with_", required=True, help="Inputs: a JSON file or - for stdin.")
@_call_options
def call_task(
    task: str, with_: str, base_url: str | None, dry_run: bool, curl: bool, as_json: bool
) -> None:
    """Call one task with inputs from a JSON file, no workflow needed."""
    from .client import Client
    from .registry import load_task

    manifest_ = load_task(task)
    inputs = read_json(with_)
    if not isinstance(inputs, dict):
        raise RtkError(Problem(with_, "inputs must be a JSON object"))
    with Client(base_url=base_url) as client:
        result, curl_text = _dry_run(client, manifest_, inputs)
        if not dry_run and result.ok:
            result = client.call(manifest_, inputs)
    _show(result, as_json=as_json, curl_text=curl_text if curl else None, dry_run=dry_run)


def _parse_pairs(pairs: tuple[str, ...], flag: str) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise RtkError(
                Problem(flag, f"{pair!r} is not NAME=VALUE", f"e.g. {flag} title=Standup")
            )
        out.append((name, value))
    return out


def _workflow_inputs(
    wf: Any, pairs: tuple[str, ...], only: set[str] | None = None
) -> dict[str, Any]:
    """``--input NAME=VALUE`` pairs in the workflow's declared types, defaults filled."""
    from .errors import WorkflowError

    given: dict[str, Any] = {}
    problems = []
    for name, text in _parse_pairs(pairs, "--input"):
        spec = wf.inputs.get(name)
        try:
            given[name] = spec.parse(text) if spec else text
        except ValueError as exc:
            problems.append(Problem(f"--input {name}", str(exc)))
    WorkflowError.collect(problems)
    resolved: dict[str, Any] = wf.resolve_inputs(given, only=only)
    return resolved


def _step_outputs(wf: Any, step: Any, pairs: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Outputs of the steps ``step`` reads: ``--output`` values, else the newest records."""
    from .errors import WorkflowError
    from .records import latest_outputs

    outputs: dict[str, dict[str, Any]] = {}
    for name, text in _parse_pairs(pairs, "--output"):
        sid, _, out = name.partition(".")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        outputs.setdefault(sid, {})[out] = value
    if from_flags := sorted(set(step.needs) & set(outputs)):
        click.echo(f"using --output values for {', '.join(from_flags)}", err=True)
    needed = set(step.needs) - set(outputs)
    for sid, (values, path) in sorted(latest_outputs(wf.file, needed).items()):
        outputs[sid] = values
        click.echo(f"using the outputs of {sid} recorded in {path}", err=True)
    missing = sorted(set(step.needs) - set(outputs))
    if missing:
        raise WorkflowError(
            Problem(
                f"{wf.file}: step {step.id}",
                f"reads the outputs of {', '.join(missing)}, which have not run",
                f"test {missing[0]} first, or pass --output {missing[0]}.NAME=VALUE",
            )
        )
    return outputs


@cli.command("test")
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
    from .client import Client
    from .execute import error_result
    from .records import write_record
    from .runner import StepRun
    from .workflow import load_workflow

    wf = load_workflow(workflow)
    step = wf.step(step_id)
    used = {c[1] for c in step.references() if c[0] == "inputs" and len(c) > 1}
    inputs = _workflow_inputs(wf, input_pairs, only=used)
    outputs = _step_outputs(wf, step, output_pairs)
    with Client(base_url=base_url) as client:
        try:
            run = StepRun(wf, step, inputs, outputs)
        except RtkError as exc:
            result = error_result(step.task, exc, client.redactor)
            _show(result, as_json=as_json, curl_text=None, dry_run=dry_run)
            return
        result, curl_text = _dry_run(client, wf.manifest(step), run.inputs, run.secrets.values())
        if not dry_run and result.ok:
            result = run.call(client)
            if result.sent:
                write_record(
                    wf.file,
                    wf.name,
                    {step.id: result},
                    ok=result.ok,
                    inputs=inputs,
                    redactor=run.redactor.extend(client.redactor.values),
                    kind="test",
                )
    _show(result, as_json=as_json, curl_text=curl_text if curl else None, dry_run=dry_run)


@cli.command("run")
@click.argument("workflow", type=click.Path(dir_okay=False))
@_input_option
@click.option("--base-url", help="API base URL (default: $RTK_BASE_URL, then each task's server).")
@click.option(
    "--engine",
    type=click.Choice(["local", "temporal", "prefect"]),
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
@click.option("--json", "as_json", is_flag=True, help='Print {"ok", "steps": {id: TaskResult}}.')
def run_cmd(
    workflow: str,
    input_pairs: tuple[str, ...],
    base_url: str | None,
    engine: str,
    concurrency: int,
    as_json: bool,
) -> None:
    """Run a workflow: steps in dependency order, each step's status as it finishes."""
    import os

    from .present import format_step_line
    from .records import write_record
    from .runner import run_workflow
    from .secrets import Redactor
    from .workflow import load_workflow

    wf = load_workflow(workflow)
    inputs = _workflow_inputs(wf, input_pairs)

    def show(step: Any, result: Any) -> None:
        if not as_json:
            click.echo(format_step_line(step.id, result))

    if engine == "local":
        run = run_workflow(wf, inputs, base_url=base_url, concurrency=concurrency, on_step=show)
    else:
        adapter = importlib.import_module(f"rtk_task.{engine}")
        run = adapter.run_with_engine(wf, inputs, base_url=base_url, on_step=show)
    redactor = Redactor(
        [
            os.environ.get("CLOUDFLARE_API_TOKEN"),
            *(os.environ.get(env) for env in wf.secrets.values()),
        ]
    )
    path = write_record(wf.file, wf.name, run.steps, ok=run.ok, inputs=inputs, redactor=redactor)
    if as_json:
        _echo_json(run.to_json())
    else:
        click.echo(
            f"{'ok' if run.ok else 'failed'}: {wf.name} ({len(run.steps)} steps); "
            f"recorded in {path}"
        )
    sent_nothing = all(not r.sent for r in run.steps.values() if not r.ok)
    sys.exit(0 if run.ok else (EXIT_BAD_INPUT if sent_nothing else 1))


@cli.command()
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
    from .authoring import add_step

    added = add_step(Path(workflow_file), task, step_id)
    click.echo(f"added step {added!r} ({task}) to {workflow_file}")
    click.echo(f"try it: rtk-task test {workflow_file} --step {added} --dry-run", err=True)


@cli.command()
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
def export(workflow: str, target: str, base_url: str | None, output: str | None) -> None:
    """Export a workflow as SimWorkflow or Conductor HTTP tasks (secrets as references)."""
    from .export import export_workflow
    from .files import write_atomic
    from .workflow import load_workflow

    text = export_workflow(load_workflow(workflow), target, base_url=base_url)  # type: ignore[arg-type]
    if output:
        write_atomic(Path(output), text)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print every step's TaskResult as JSON.")
def demo(as_json: bool) -> None:
    """Start the embedded emulator and run the example workflow against it."""
    from .demo import run_demo

    sys.exit(run_demo(as_json=as_json))
