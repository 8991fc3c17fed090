"""What an importer reads and what it makes: a :class:`Request`, an :class:`ImportedStep`, a
whole :class:`Imported` workflow.

Every importer (cURL, n8n, Conductor) reduces what it reads to requests; a request becomes
one step (:func:`~rtk_task.workflows.imports.request_step`). What the importer could not
carry over is never dropped silently: it goes in a note, on the request (:attr:`Request.notes`,
copied to the step's), the step, or the whole import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Imported", "ImportedStep", "Request"]


@dataclass
class Request:
    """One HTTP request as an importer read it, as template text (literal text is written so
    that it renders as itself: :func:`~.text.literal`)."""

    method: str
    #: The URL; a query in it joins :attr:`query`, its ``user:password`` is a credential.
    url: str
    #: Headers as given; ``Content-Type`` picks how :attr:`body` is sent.
    headers: dict[str, str] = field(default_factory=dict)
    #: Query parameters; a name given more than once has a list of values.
    query: dict[str, Any] = field(default_factory=dict)
    #: A JSON value, a mapping of form or multipart fields (a list for a repeated name), or
    #: the body's text (sent as it is, with the ``Content-Type`` given).
    body: Any = None
    #: What the request came from, for messages (``curl``, a task's name).
    source: str = "request"
    #: ``(user, password)`` of Basic auth (``curl -u``): declared as secrets, never written.
    user: tuple[str, str | None] | None = None
    #: Multipart file fields: name -> the path of the file (a list for a repeated name).
    files: dict[str, Any] = field(default_factory=dict)
    #: What the importer could not carry over as it was, for the step's notes.
    notes: list[str] = field(default_factory=list)
    #: A file whose bytes are the whole body (its path, or a template of it).
    body_file: str | None = None


@dataclass
class ImportedStep:
    """A step made from a request, with the inputs and secrets it needs declared."""

    step: dict[str, Any]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Secret name -> environment variable.
    secrets: dict[str, str] = field(default_factory=dict)
    #: What could not be carried over, or what the user must do (set a variable).
    notes: list[str] = field(default_factory=list)
    #: The workflow's ``hosts:`` this step needs (its URL's host is templated), else ``None``.
    hosts: list[str] | None = None


@dataclass
class Imported:
    """A whole imported workflow: its name, steps, and what could not be carried over."""

    name: str
    steps: list[ImportedStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
