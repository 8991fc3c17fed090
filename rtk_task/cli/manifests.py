"""``rtk-task manifest build|rebuild``: manifests from docs pages and OpenAPI documents."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import EXIT_BAD_INPUT, RtkError


@click.group()
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
@click.option("-o", "--output", type=click.Path(), help="Write here, not stdout (--all: a folder).")
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every operation of --openapi, one manifest each, into the folder -o.",
)
@click.option("--name", help="--all: the API's short name (ids, variables; default: its title).")
@click.option(
    "--ids",
    "id_rule",
    type=click.Choice(["operation_id", "path"]),
    help="--all: ids from each operationId (the default), or from the path (the provider's rule).",
)
def manifest_build(
    docs: str | None,
    spec: str | None,
    operation: str | None,
    task_id: str | None,
    output: str | None,
    every: bool,
    name: str | None,
    id_rule: str | None,
) -> None:
    """Build a manifest from DOCS, from --openapi --operation, or DOCS overlaid on --openapi;
    with --all, one for every operation of --openapi into the folder -o."""
    if every:
        _build_all(docs, spec, operation, task_id, output, name, id_rule)
        return
    if name or id_rule:
        raise click.UsageError("--name and --ids are for --all")
    from ..files import write_atomic
    from ..manifests.build import build_manifest

    if output and Path(output).is_dir():
        raise click.BadParameter(f"{output} is a folder (a folder is for --all)", param_hint="-o")
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


def _build_all(
    docs: str | None,
    spec: str | None,
    operation: str | None,
    task_id: str | None,
    output: str | None,
    name: str | None,
    id_rule: str | None,
) -> None:
    """``manifest build --all``: the summary line, then each refusal; exit 2 if none built."""
    from ..manifests.document import build_all

    if spec is None or output is None:
        raise click.UsageError("--all needs --openapi FILE and -o DIR")
    if docs or operation or task_id:
        raise click.UsageError("--all builds every operation: leave out DOCS, --operation, --id")
    summary = build_all(
        Path(spec), Path(output), name=name, id_rule="path" if id_rule == "path" else "operation_id"
    )
    click.echo(str(summary))
    for refusal in summary.refused:
        click.echo(f"  refused {refusal}")
    if not summary.built:
        sys.exit(EXIT_BAD_INPUT)


@manifest.command("rebuild")
@click.argument("folder", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any manifest differs.")
def manifest_rebuild(folder: str | None, check: bool) -> None:
    """Build every manifest in FOLDER (default: the shipped ones) again from its sources."""
    from ..files import write_atomic
    from ..manifests.build import rebuild
    from ..manifests.document import PROVIDER_FILE
    from ..manifests.registry import shipped_dir

    base = Path(folder) if folder else shipped_dir()
    stale: list[Path] = []
    broken: list[RtkError] = []
    for file in sorted(base.glob("*.json")):
        if file.name == PROVIDER_FILE:
            continue  # what `build --all` wrote beside the manifests: not one of them
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
