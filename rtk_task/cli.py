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


# The commands that run tasks and workflows live in their own module; importing it registers
# them on `cli` (it imports only click at the top, so start-up stays fast).
from . import cli_run  # noqa: E402, F401
