"""What every command shares: printing an error, JSON in and out, ``NAME=VALUE`` pairs, and a
workflow's ``--input`` values (pairs, or JSON files of them)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import click

from ..errors import ConfigError, Problem, RtkError
from ..limits import loads_json
from ..secrets import Redactor

__all__ = ["echo_json", "fail", "given_inputs", "parse_pairs", "read_json"]


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


#: What a value read from JSON must be for each declared input type.
_KINDS: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
}


def given_inputs(
    specs: Mapping[str, Any], args: tuple[str, ...], *, unknown: bool = True
) -> tuple[dict[str, Any], list[Problem]]:
    """A workflow's ``--input`` arguments as values, and the problems found in them.

    Each argument is ``NAME=VALUE`` (the text in the input's declared type) or a JSON file
    (``-``: stdin) holding an object of inputs, read by the bounded JSON reader
    (:func:`rtk_task.limits.loads_json`: a 10,000-item list in milliseconds, ``FILE:LINE:COL``
    on a syntax error); later arguments win. ``specs`` maps names to their
    :class:`~rtk_task.workflows.model.InputSpec`; with ``unknown`` a name it lacks is a
    problem here (else it is passed on, for the caller to report).
    """
    given: dict[str, Any] = {}
    problems: list[Problem] = []

    def spec_of(where: str, name: str) -> Any:
        spec = specs.get(name)
        if spec is None and unknown:
            from ..errors import did_you_mean

            hint = did_you_mean(name, list(specs)) or f"inputs: {', '.join(specs) or 'none'}"
            problems.append(Problem(where, "unknown input", hint))
        return spec

    for arg in args:
        name, sep, text = arg.partition("=")
        if sep and name:
            spec = spec_of(f"--input {name}", name)
            if spec is None and unknown:
                continue
            try:
                given[name] = spec.parse(text) if spec is not None else text
            except ValueError as exc:
                problems.append(Problem(f"--input {name}", str(exc)))
            continue
        if arg != "-" and not Path(arg).is_file():
            problems.append(
                Problem(
                    "--input",
                    f"{arg!r} is neither NAME=VALUE nor a JSON file of inputs",
                    "e.g. --input title=Standup, or --input inputs.json holding "
                    '{"title": "Standup"}',
                )
            )
            continue
        values = read_json(arg)
        where = "<stdin>" if arg == "-" else arg
        if not isinstance(values, dict):
            problems.append(
                Problem(where, "an inputs file holds a JSON object", '{"NAME": VALUE, ...}')
            )
            continue
        for name, value in values.items():
            spec = spec_of(f"{where}: {name}", name)
            if spec is None and unknown:
                continue
            kind = _KINDS.get(spec.type) if spec is not None else None
            wrong = isinstance(value, bool) and spec is not None and spec.type != "boolean"
            if kind is not None and (wrong or not isinstance(value, kind)):
                problems.append(
                    Problem(
                        f"{where}: {name}",
                        f"not a {spec.type}: {_kind_of(value)}",
                        f"give {name} as a JSON {spec.type}",
                    )
                )
                continue
            given[name] = value
    return given, problems


def _kind_of(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    names |= {dict: "object", list: "array", type(None): "null"}
    return names.get(type(value), type(value).__name__)
