"""``rtk-task emulator``: the local RealtimeKit API in the foreground."""

from __future__ import annotations

import click

from ..errors import ConfigError, FileError, Problem
from ..limits import loads_json

__all__ = ["emulator_command"]

_FAULT_HINT = (
    'e.g. \'{"action": "status", "status": 503}\'; see `python -m pydoc rtk_task.emulator.faults`'
)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address.")
@click.option(
    "--port",
    default=8787,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option("--token", help="The only Bearer token accepted (default: any token).")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="JSON",
    help="A fault rule (repeatable); see rtk_task.emulator.faults.",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A JSON file of records to start with; see rtk_task.emulator.seed.",
)
@click.option(
    "--rate-limit",
    metavar="N/WINDOW",
    help="Answer 429 past N requests per window per token and account (e.g. 250/10s).",
)
def emulator_command(
    host: str,
    port: int,
    token: str | None,
    faults: tuple[str, ...],
    seed_file: str | None,
    rate_limit: str | None = None,
) -> None:
    """Serve an in-memory RealtimeKit API; prints its base URL once it accepts connections."""
    from ..emulator.faults import rule_problems
    from ..emulator.ratelimit import parse_limit
    from ..emulator.routes import Refused
    from ..emulator.server import run_emulator

    if rate_limit is not None:
        try:
            parse_limit(rate_limit)
        except ValueError as exc:
            raise ConfigError(
                Problem("--rate-limit", str(exc), "e.g. --rate-limit 250/10s")
            ) from None

    seed = None
    if seed_file:
        try:
            with open(seed_file, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, ValueError) as exc:
            raise FileError(Problem(seed_file, f"cannot read the seed: {exc}")) from None
        seed = loads_json(text, seed_file, FileError)

    rules = []
    for text in faults:
        rule = loads_json(text, "--fault", ConfigError, hint=_FAULT_HINT)
        problems = [
            Problem(f"--fault {where}", message, _FAULT_HINT)
            for where, message in rule_problems(rule)
        ]
        ConfigError.collect(problems)
        rules.append(rule)
    try:
        run_emulator(
            host,
            port,
            token,
            rules,
            seed,
            on_ready=lambda url: click.echo(url, nl=True),
            rate_limit=rate_limit,
        )
    except Refused as refused:
        raise ConfigError(
            Problem(seed_file or "--seed", refused.message, "see rtk_task.emulator.seed")
        ) from None
