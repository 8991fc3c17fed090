"""The ``rtk-task`` command line: the only part of rtk-task that prints.

A lazy command table: each command lives in the module of its group (``manifests``,
``browse``, ``run``, ``author``, ``demo``, ``emulator``, ``temporal``) and is imported only
when it runs, so that ``rtk-task`` starts fast. Exit codes: 0 ok, 1 the remote call failed
(or a check found a difference), 2 bad input and nothing was sent. Our errors print as one
readable message; a traceback means a bug.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from ..errors import RtkError
from ._common import fail

__all__ = ["cli", "main"]

#: Command name -> ``module:attribute`` (modules relative to this package).
COMMANDS: dict[str, str] = {
    "add": "author:add",
    "call": "run:call_task",
    "check": "check:check_cmd",
    "demo": "demo:demo",
    "emulator": "emulator:emulator_command",
    "export": "author:export",
    "import": "imports:import_group",
    "list": "browse:list_tasks",
    "manifest": "manifests:manifest",
    "run": "run:run_cmd",
    "schema": "browse:schema",
    "search": "browse:search",
    "show": "browse:show",
    "temporal": "temporal:temporal_command",
    "test": "run:test_step",
    "ui": "ui:ui_cmd",
    "validate": "browse:validate",
}


class _LazyGroup(click.Group):
    """A group whose commands are imported only when they run (or when help lists them)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rtk-task")
def cli() -> None:
    """HTTP tasks for workflows, built from API reference docs (Cloudflare RealtimeKit)."""


def _warn() -> None:
    """Print, once, what the manifest registry and the run records skipped (neither prints)."""
    taken: list[str] = []
    # only modules the command loaded: one that never looked for a manifest has nothing
    if "rtk_task.manifests.registry" in sys.modules:
        from ..manifests.registry import take_warnings

        taken += take_warnings()
    if "rtk_task.workflows.records" in sys.modules:
        from ..workflows.records import take_warnings as record_warnings

        taken += record_warnings()
    for warning in taken:
        click.echo(click.style("warning: ", fg="yellow") + warning, err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        _main(argv)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if argv is None and "temporalio" in sys.modules:  # the process's own command line
            # Temporal's Rust core keeps threads that crash the interpreter's teardown
            # (SIGABRT, "PyGILState_Release ... finalizing": temporalio/sdk-python#300), which
            # turned finished runs into exit -6. Everything is done and closed here: flush and
            # leave without the teardown.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise


def _main(argv: list[str] | None) -> None:
    try:
        try:
            cli.main(args=argv, prog_name="rtk-task", standalone_mode=False)
        finally:
            _warn()
    except RtkError as exc:
        fail(exc)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
