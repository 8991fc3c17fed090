"""What every command shares: printing an error, JSON in and out, ``NAME=VALUE`` pairs."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from ..errors import ConfigError, Problem, RtkError
from ..limits import loads_json
from ..secrets import Redactor

__all__ = ["echo_json", "fail", "parse_pairs", "read_json"]


def fail(error: RtkError) -> NoReturn:
    """Print ``error`` as one readable message and exit with its code.

    Masked on the way out: an error can quote a value that came from the environment, so
    every variable named like a credential is masked in it, whichever command raised it.
    """
    redactor = Redactor.from_env(name for name in os.environ if _CREDENTIAL.search(name))
    message = redactor.text(error.render())
    click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
    sys.exit(error.exit_code)


#: Environment variables that hold credentials, by their names' usual endings.
_CREDENTIAL = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def read_json(source: str) -> Any:
    """JSON from a file or ``-`` (stdin), with ``FILE:LINE:COL`` on a syntax error."""
    name = "<stdin>" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(Problem(name, f"cannot read: {exc}")) from None
    # bounded: deep nesting, NaN and Infinity are refused with FILE:LINE:COL, never a traceback
    return loads_json(text, name, ConfigError)


def parse_pairs(pairs: tuple[str, ...], flag: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` arguments of ``flag`` as pairs."""
    out = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError(
                Problem(flag, f"{pair!r} is not NAME=VALUE", f"e.g. {flag} title=Standup")
            )
        out.append((name, value))
    return out
