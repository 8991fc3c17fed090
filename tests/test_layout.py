"""The layout is the architecture: no import circles, each layer imports only inward, only the
CLI prints, modules stay small, and the public API is exactly what ``__all__`` says.

Imports are read from the source (inside functions too), so a lazy import counts; imports
for type checkers only (``if TYPE_CHECKING:``) do not run, and do not count.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import rtk_task

PACKAGE = Path(rtk_task.__file__).parent
#: Sub-packages at the edges; every other module of rtk_task is the per-call core.
EDGES = ("manifests", "workflows", "engines", "providers", "cli", "emulator", "ui")
#: What each part may not import (a prefix of a module name under rtk_task).
FORBIDDEN = {
    "core": ("workflows", "engines", "cli", "emulator", "ui"),
    "manifests": ("workflows", "engines", "cli", "emulator", "ui"),
    "providers": ("workflows", "engines", "cli", "emulator", "ui"),
    "workflows": ("engines", "cli", "emulator", "ui"),
    "engines": ("cli", "emulator", "ui"),
    "emulator": ("cli", "engines", "workflows", "ui"),
}


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> set[str]:
    """Every rtk_task module ``module`` imports, at the top or inside a function."""
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
        for sub in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("rtk_task") and name != module}


MODULES = dict(_modules())
GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in EDGES else "core"


def _within(module: str, edge: str) -> bool:
    return module == f"rtk_task.{edge}" or module.startswith(f"rtk_task.{edge}.")


def test_there_is_no_import_circle() -> None:
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt not in GRAPH:
                continue
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_each_layer_imports_only_inward() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _part(module) in FORBIDDEN
        and any(_within(target, edge) for edge in FORBIDDEN[_part(module)])
        and module != "rtk_task"  # the package root re-exports lazily, by name
    ]
    assert not wrong, "\n".join(wrong)


#: The ground: what every layer, the providers included, may import.
GROUND = ("rtk_task.errors", "rtk_task.limits")


def test_providers_stand_on_the_ground_alone() -> None:
    """ground <- providers <- manifests <- the per-call core: a provider imports nothing of
    the manifests or the core, so vendor facts reach the core only through the manifest."""
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _within(module, "providers")
        for target in targets
        if not _within(target, "providers") and target not in GROUND
    ]
    assert not wrong, "\n".join(wrong)


def test_only_the_providers_know_a_vendor() -> None:
    """No module outside providers/ imports a vendor's module: the core, the manifests, the
    workflows, the engines and the playground ask the manifest (or the provider registry)."""
    vendors = [name for name in MODULES if _within(name, "providers")]
    vendors = [v for v in vendors if v.rsplit(".", 1)[-1] not in ("base", "model", "providers")]
    assert "rtk_task.providers.cloudflare" in vendors
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if not _within(module, "providers")
        for target in targets
        if target in vendors
    ]
    assert not wrong, "\n".join(wrong)


def test_the_core_never_names_a_vendors_credential() -> None:
    """The core, the manifests and the playground hold no vendor's token variable."""
    named = [
        name
        for name, path in MODULES.items()
        if not _within(name, "providers")
        and not _within(name, "emulator")
        and "CLOUDFLARE_API_TOKEN" in path.read_text(encoding="utf-8")
    ]
    assert not named, f"modules naming CLOUDFLARE_API_TOKEN outside providers/: {named}"


def test_every_package_of_the_layout_exists() -> None:
    for edge in ("manifests", "workflows", "engines", "providers", "cli", "emulator"):
        assert (PACKAGE / edge / "__init__.py").is_file(), f"rtk_task/{edge}/ is missing"


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*")
        if path.suffix in (".py", ".js", ".css", ".html")
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not long, f"modules over 600 lines: {long}"


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        name
        for name, path in MODULES.items()
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text("utf-8"))) is None
    ]
    assert not missing, f"no module docstring: {missing}"


PUBLIC = {
    "AsyncClient",
    "Client",
    "ConfigError",
    "DocsError",
    "EngineError",
    "ErrorInfo",
    "ErrorKind",
    "FileError",
    "InputError",
    "Manifest",
    "ManifestError",
    "OpenAPIError",
    "Problem",
    "RemoteError",
    "RequestInfo",
    "RetryPolicy",
    "RtkError",
    "RunResult",
    "TaskResult",
    "TemplateError",
    "Workflow",
    "WorkflowError",
    "load_task",
    "load_workflow",
    "parse_workflow",
    "run_workflow",
    "run_workflow_async",
}


def test_the_public_api_is_exactly_all_and_every_name_resolves() -> None:
    assert set(rtk_task.__all__) == PUBLIC, sorted(set(rtk_task.__all__) ^ PUBLIC)
    stray = [n for n in dir(rtk_task) if not n.startswith("_") and n not in PUBLIC]
    assert stray == [], f"dir(rtk_task) shows names that are not the API: {stray}"
    for name in rtk_task.__all__:
        assert getattr(rtk_task, name) is not None, name
    assert sorted(rtk_task.__all__) == list(rtk_task.__all__)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_all_list_names_real_members(module: str) -> None:
    if any(f".{edge}" in module for edge in ("engines", "ui")):
        pytest.importorskip("temporalio" if "temporal" in module else "starlette")
    mod = importlib.import_module(module)
    missing = [name for name in getattr(mod, "__all__", ()) if not hasattr(mod, name)]
    assert not missing, f"{module}.__all__ names what it lacks: {missing}"


def _printing_calls(path: Path) -> list[int]:
    """Lines of ``print(...)``, ``click.echo(...)`` and ``sys.stdout/stderr.write(...)``."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("print", "click.echo", "click.secho") or name.startswith(
                ("sys.stdout.write", "sys.stderr.write")
            ):
                lines.append(node.lineno)
    return lines


def test_nothing_but_the_cli_prints() -> None:
    printers = {
        name: lines
        for name, path in MODULES.items()
        if _part(name) != "cli" and (lines := _printing_calls(path))
    }
    assert not printers, f"modules that print (only rtk_task.cli may): {printers}"
