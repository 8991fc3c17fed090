"""``rtk-task temporal worker``: a Temporal worker for rtk-task workflows."""

from __future__ import annotations

import asyncio
import contextlib

import click

__all__ = ["temporal_command"]


@click.group("temporal")
def temporal_command() -> None:
    """Temporal: run a worker for rtk-task workflows."""


@temporal_command.command("worker")
@click.option("--address", default="localhost:7233", show_default=True)
@click.option("--task-queue", default="rtk-task", show_default=True)
def worker(address: str, task_queue: str) -> None:
    """Run a worker: rtk-task steps as activities, workflow files as workflows."""
    from ..engines.temporal import run_worker

    click.echo(f"worker on {address}, task queue {task_queue}", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(address, task_queue))
