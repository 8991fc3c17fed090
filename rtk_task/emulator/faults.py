"""Fault injection: rules that make the emulator misbehave on purpose, for tests.

A rule is JSON (from Python, ``--fault JSON`` at start-up, or ``POST /__emulator/faults``)::

    {"match": {"method": "POST", "path": "/meetings$", "operation": "create_meeting"},
     "times": 1,            # how many matching requests it applies to; null: every one
     "probability": 1.0,    # with "seed": reproducible random faults
     "seed": 7,
     "action": "status",    # see below
     "status": 429, "retry_after": "1", "body": "...", "content_type": "text/html",
     "delay": 0.5, "size": 1048576, "interval": 0.05, "then": "status"}

Actions:

- ``status``: answer ``status`` (default 503) with the error envelope, or ``body`` with
  ``content_type``; ``retry_after`` sets the Retry-After header. Nothing is processed.
- ``delay``: wait ``delay`` seconds, then process normally.
- ``drip``: process, then send the body one byte every ``interval`` seconds.
- ``malformed``: process, then answer invalid JSON labelled application/json.
- ``truncated``: process, then promise more bytes than are sent and close.
- ``wrong_content_type``: process, then answer the JSON labelled text/html.
- ``large_body``: answer ``size`` bytes (default 100 MB), streamed, labelled JSON.
- ``process_then_fail``: process (the meeting IS stored), then answer ``status``
  (default 500), or with ``"then": "drop"`` close the connection mid-answer. This is the
  ambiguous failure: the client cannot know the server acted.

``delay`` also works with every other action (it waits first). A rule that is not valid
(an unknown action or field, a bad ``match.path`` regular expression) is refused when added,
with :func:`rule_problems` naming each field. Rules are tried in order; the
first that matches and fires wins. Only the API routes are affected, never ``/__emulator``.
"""

from __future__ import annotations

import random
import re
import threading
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["FaultPlan", "FaultRule", "Match", "rule_problems"]

Action = Literal[
    "status",
    "delay",
    "drip",
    "malformed",
    "truncated",
    "wrong_content_type",
    "large_body",
    "process_then_fail",
]


class Match(BaseModel):
    """Which requests a rule applies to; every field given must match."""

    model_config = ConfigDict(extra="forbid")

    method: str | None = None
    path: str | None = None  # a regular expression searched in the path
    operation: str | None = None  # an operationId, e.g. create_meeting

    @field_validator("path")
    @classmethod
    def _regex(cls, path: str | None) -> str | None:
        if path is not None:
            try:
                re.compile(path)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return path


class FaultRule(BaseModel):
    """One fault."""

    model_config = ConfigDict(extra="forbid")

    match: Match = Field(default_factory=Match)
    times: int | None = Field(1, ge=1)
    probability: float = Field(1.0, ge=0, le=1)
    seed: int | None = None
    action: Action = "status"
    status: int | None = Field(None, ge=100, le=599)
    retry_after: str | None = None
    body: str | None = None
    content_type: str | None = None
    delay: float = Field(0, ge=0, le=60)
    size: int = Field(100 * 1024 * 1024, ge=0)
    interval: float = Field(0.05, ge=0, le=10)
    then: Literal["status", "drop"] = "status"


class _Live:
    def __init__(self, rule: FaultRule) -> None:
        self.rule = rule
        self.left = rule.times
        self.random = random.Random(rule.seed)
        self.path = re.compile(rule.match.path) if rule.match.path else None

    def fires(self, method: str, path: str, operation: str) -> bool:
        m = self.rule.match
        if m.method and m.method.upper() != method:
            return False
        if m.operation and m.operation != operation:
            return False
        if self.path and not self.path.search(path):
            return False
        if self.left == 0:
            return False
        if self.rule.probability < 1 and self.random.random() >= self.rule.probability:
            return False
        if self.left is not None:
            self.left -= 1
        return True


class FaultPlan:
    """The rules in force; thread-safe."""

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Live] = [_Live(r) for r in rules or ()]
        self.fired = 0

    def add(self, rules: list[dict[str, Any]] | list[FaultRule]) -> None:
        """Add rules (dicts are validated)."""
        parsed = [r if isinstance(r, FaultRule) else FaultRule.model_validate(r) for r in rules]
        with self._lock:
            self._rules.extend(_Live(r) for r in parsed)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def pick(self, method: str, path: str, operation: str) -> FaultRule | None:
        """The rule that fires for this request, if any."""
        if not self._rules:
            return None
        with self._lock:
            for live in self._rules:
                if live.fires(method, path, operation):
                    self.fired += 1
                    return live.rule
        return None


def rule_problems(data: Any) -> list[tuple[str, str]]:
    """``(field path, message)`` for each way ``data`` is not a fault rule; empty if it is."""
    try:
        FaultRule.model_validate(data)
    except ValidationError as exc:
        return [
            (".".join(str(p) for p in err["loc"]) or "rule", err["msg"]) for err in exc.errors()
        ]
    return []
