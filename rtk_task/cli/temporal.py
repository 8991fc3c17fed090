"""``rtk-task temporal worker``: a Temporal worker for rtk-task workflows.

The worker's own settings, not any payload, decide where its requests go (``--base-url``,
``RTK_BASE_URL``) and which environment variables a workflow may read as secrets
(``--allow-secret``, ``RTK_ALLOW_SECRETS``); a payload asking for more is refused.
"""

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
@click.option(
    "--base-url",
    envvar="RTK_BASE_URL",
    help="Where this worker's requests go (default: $RTK_BASE_URL, then each task's server).",
)
@click.option(
    "--allow-secret",
    "allowed",
    multiple=True,
    metavar="ENV_NAME",
    envvar="RTK_ALLOW_SECRETS",
    help="An environment variable workflows may read as a secret (repeatable).",
)
@click.option(
    "--allow-host",
    "hosts",
    multiple=True,
    metavar="HOST",
    envvar="RTK_ALLOW_HOSTS",
    help="A host workflows' http steps may call (repeatable; default: none).",
)
@click.option(
    "--queue-rate",
    type=click.FloatRange(min=0.001, max=100_000),
    envvar="RTK_QUEUE_RATE",
    help="Steps a second for ALL workers of the queue together, kept by the Temporal server "
    "(e.g. 25 for RealtimeKit's 250/10 s); give every worker the same value.",
)
def worker(
    address: str,
    task_queue: str,
    base_url: str | None,
    allowed: tuple[str, ...],
    hosts: tuple[str, ...],
    queue_rate: float | None = None,
) -> None:
    """Run a worker: rtk-task steps as activities, workflow files as workflows."""
    from ..engines import get_engine
    from ..engines.worker import WorkerConfig, names

    get_engine("temporal")  # a missing extra is a clear error, not an ImportError
    from ..engines.temporal import run_worker

    secrets = names(" ".join(allowed))
    config = WorkerConfig(base_url or None, secrets, names(" ".join(hosts).lower()), queue_rate)
    click.echo(
        f"worker on {address}, task queue {task_queue}, "
        f"sending to {base_url or 'each task server'}, "
        f"secrets allowed: {', '.join(sorted(secrets)) or 'none'}, "
        f"http hosts allowed: {', '.join(sorted(config.allowed_hosts or ())) or 'none'}, "
        f"queue rate: {f'{queue_rate:g}/s for all workers' if queue_rate else 'none'}",
        err=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(address, task_queue, config))
