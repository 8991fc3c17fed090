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
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here, not stdout.")
def manifest_build(
    docs: str | None,
    spec: str | None,
    operation: str | None,
    task_id: str | None,
    output: str | None,
) -> None:
    """Build a manifest from DOCS, from --openapi --operation, or DOCS overlaid on --openapi."""
    from ..files import write_atomic
    from ..manifests.build import build_manifest

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
    from ..files import write_atomic
    from ..manifests.build import rebuild
    from ..manifests.registry import shipped_dir

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
