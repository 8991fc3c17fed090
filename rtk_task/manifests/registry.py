"""The shipped manifests: where they are, and finding one by id or file.

The wheel carries ``task_manifests/`` as ``rtk_task/_task_manifests``; an editable install or
a checkout reads the repository's ``task_manifests/`` beside the package. ``RTK_MANIFEST_PATH``
(``os.pathsep``-separated folders) adds the user's own manifests, searched first.

A manifest is found by its ``id``, whatever its file is called: the user's folders are
indexed by the ``id`` inside each file (the shipped files are named by id). A user's manifest
with the id of a shipped one wins (:func:`overridden_ids`); a file that is not a valid
manifest (not UTF-8, not JSON, too deep, failing the model) is skipped with a warning naming
it and why, collected here (this module never prints: :func:`take_warnings`). The
index is built once and rebuilt only when a folder's modification time changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..errors import ManifestError, Problem, did_you_mean
from .model import Manifest

__all__ = [
    "all_tasks",
    "find_manifest",
    "load_task",
    "manifest_dirs",
    "overridden_ids",
    "shipped_dir",
    "sources_dir",
    "take_warnings",
]

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


@dataclass
class _Index:
    by_id: dict[str, Path]
    overridden: frozenset[str]
    warnings: list[str] = field(default_factory=list)


_cached: dict[tuple[Path, ...], tuple[tuple[int, ...], _Index]] = {}
_told: set[str] = set()


def _mtime(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return -1


def _current() -> _Index:
    """The index of the current folders, rebuilt when one of them changed."""
    dirs = manifest_dirs()
    stamp = tuple(_mtime(d) for d in dirs)
    hit = _cached.get(dirs)
    if hit is None or hit[0] != stamp:
        hit = (stamp, _build(dirs))
        _cached[dirs] = hit
    return hit[1]


#: The file ``manifest build --all`` writes beside the manifests: the document's provider.
PROVIDER_FILE = "provider.json"


def _build(dirs: tuple[Path, ...]) -> _Index:
    shipped = dirs[-1]
    found: dict[str, Path] = {}
    warnings: list[str] = []
    for file in sorted(shipped.glob("*.json")):
        found[file.stem] = file  # shipped files are named by their id
    shipped_ids = set(found)
    overridden: set[str] = set()
    for folder in reversed(dirs[:-1]):  # earlier folders win
        for file in sorted(folder.glob("*.json")):
            if file.name == PROVIDER_FILE:
                continue  # the provider a folder was built for (``manifest build --all``)
            task_id, why = _id_of(file)
            if task_id is None:
                warnings.append(f"{file}: {why}, skipped")
                continue
            if task_id in shipped_ids:
                overridden.add(task_id)
            found[task_id] = file
    return _Index(found, frozenset(overridden), warnings)


def _id_of(file: Path) -> tuple[str | None, str]:
    """The ``id`` of a valid manifest file, or ``None`` and why it cannot be used.

    The whole manifest is validated here (a user's folder is read once per change), so a
    broken file is skipped with its reason and never fails ``list`` or a look-up later.
    """
    mtime = _mtime(file)
    if mtime < 0:
        return None, "cannot be read"
    try:
        manifest = _load_file(file, mtime)
    except ManifestError as exc:
        if any(
            p.where.endswith(": method") and p.message == "Field required" for p in exc.problems
        ):
            return None, "not a manifest"  # JSON, but no manifest at all (notes, settings)
        first = exc.first
        where = first.where.removeprefix(str(file)).lstrip(": ")
        detail = f"{where}: {first.message}" if where else first.message
        return None, f"not a valid manifest ({detail})"
    return manifest.id, ""


def overridden_ids() -> frozenset[str]:
    """Ids of shipped manifests that a manifest on ``RTK_MANIFEST_PATH`` replaces."""
    return _current().overridden


def take_warnings() -> list[str]:
    """Warnings about the folders searched (files skipped), each given out once."""
    new = [w for w in _current().warnings if w not in _told]
    _told.update(new)
    return new


def find_manifest(task_id: str) -> Path:
    """The manifest file of ``task_id``, or a :class:`ManifestError` with a did-you-mean."""
    index = _current().by_id
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
    return [load_task(p) for _, p in sorted(_current().by_id.items())]
