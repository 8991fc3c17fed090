"""``rtk-task ui``: the web playground on 127.0.0.1, against the emulator or a live API."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("ui")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0: a free one).",
)
@click.option(
    "--workflow",
    "workflow",
    type=click.Path(dir_okay=False),
    help="The workflow file to open (Add to workflow creates it if missing).",
)
@click.option(
    "--base-url",
    help="A live API (credentials from each task's variables); default: $RTK_BASE_URL, "
    "then the embedded emulator.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
def ui_cmd(port: int, workflow: str | None, base_url: str | None, open_browser: bool) -> None:
    """Serve the playground: find a task, fill it, Test request, chain it into a workflow."""
    import os

    from ..ui import UiServer

    source = "--base-url"
    if base_url is None and os.environ.get("RTK_BASE_URL"):
        base_url, source = os.environ["RTK_BASE_URL"], "RTK_BASE_URL"  # as the CLI does
    server = UiServer(
        port=port, base_url=base_url, workflow_file=Path(workflow) if workflow else None
    )
    with server:
        target = (
            f"{base_url} (from {source}), LIVE"
            if base_url
            else f"the emulator at {server.emulator and server.emulator.base_url}"
        )
        click.echo(f"playground: {server.url}  (target: {target}; Ctrl-C stops)")
        if open_browser:
            import webbrowser

            webbrowser.open(server.url)
        try:
            server.wait()
        except KeyboardInterrupt:
            click.echo("stopping")
