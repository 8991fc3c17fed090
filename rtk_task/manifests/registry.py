"""The shipped manifests: where they are, and finding one by id or file.

The wheel carries ``task_manifests/`` as ``rtk_task/_task_manifests``; an editable install or
a checkout reads the repository's ``task_manifests/`` beside the package. ``RTK_MANIFEST_PATH``
(``os.pathsep``-separated folders) adds the user's own manifests, searched first.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ..errors import ManifestError, Problem, did_you_mean
from .model import Manifest

__all__ = ["find_manifest", "load_task", "manifest_dirs", "shipped_dir", "sources_dir"]

_PACKAGE = Path(__file__).resolve().parent.parent


@cache
def shipped_dir() -> Path:
    """The folder of shipped manifests, installed or in a checkout."""
    for candidate in (_PACKAGE / "_task_manifests", _PACKAGE.parent / "task_manifests"):
        if candidate.is_dir():
            return candidate
    raise ManifestError(
        Problem(str(_PACKAGE), "the shipped task_manifests folder is missing", "reinstall rtk-task")
    )


def sources_dir() -> Path:
    """The docs pages and OpenAPI documents the shipped manifests are built from."""
    return shipped_dir() / "sources"


def manifest_dirs() -> tuple[Path, ...]:
    """Folders searched for manifests: ``RTK_MANIFEST_PATH`` entries, then the shipped one."""
    extra = [Path(p) for p in os.environ.get("RTK_MANIFEST_PATH", "").split(os.pathsep) if p]
    return (*extra, shipped_dir())


@cache
def _index(dirs: tuple[Path, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in reversed(dirs):  # earlier folders win
        for file in sorted(folder.glob("*.json")):
            found[file.stem] = file
    return found


def find_manifest(task_id: str) -> Path:
    """The manifest file of ``task_id``, or a :class:`ManifestError` with a did-you-mean."""
    index = _index(manifest_dirs())
    if task_id in index:
        return index[task_id]
    hint = did_you_mean(task_id, index) or "`rtk-task list` shows every task id"
    raise ManifestError(Problem(task_id, "no such task", hint))


@cache
def _load_file(path: Path, mtime_ns: int) -> Manifest:
    return Manifest.from_file(path)


def load_task(task: str | Path) -> Manifest:
    """A manifest by task id or by file path; cached while the file is unchanged."""
    path = Path(task)
    if not (path.suffix == ".json" and path.is_file()):
        path = find_manifest(str(task))
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ManifestError(Problem(str(path), f"cannot read: {exc.strerror}")) from None
    return _load_file(path, mtime)


def all_tasks() -> list[Manifest]:
    """Every manifest found, sorted by id."""
    return [load_task(p) for _, p in sorted(_index(manifest_dirs()).items())]
