"""``rtk-task import n8n`` of a large export: 20,000 HTTP Request nodes in under 10 s.

    python benchmarks/bench_imports.py [--quick] [--nodes N]

Makes a synthetic n8n export of N (default 20,000) HTTP Request nodes chained by their
``connections``, each reading the one before (``{{ $json.id }}``) and sending a header,
and times :func:`~rtk_task.workflows.imports.n8n.import_n8n` of it (with the bounded read
and the YAML it is printed as) against plain ``json.loads`` of the same text, interleaved
in the same run (min over rounds). Prints the seconds and their ratio; exits 1 when the
import takes 10 s or more.

Measured on the 2-core machines (issue 23), 20,000 nodes, 9.4 MB: the import with its YAML
2.8-3.1 s quiet, 5-6 s while other suites ran; 11-19x ``json.loads`` of the same text.
Before (a quadratic secrets merge per step, every task manifest loaded per node, list scans
in the ordering, ruamel's emitter): 42.6 s for the import and 13.2 s for the YAML.
``rtk-task import n8n`` then checks the printed workflow (``parse_workflow``), which refuses
a 20,000-step file as more than ``rtk_task.limits.MAX_NODES`` values: that bound is not
the importer's.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtk_task.workflows.imports import to_yaml
from rtk_task.workflows.imports.n8n import import_n8n

#: The import of the full-size export must take less than this (seconds).
LIMIT_S = 10.0
NODES = 20_000


def export(n: int) -> str:
    """An n8n export of ``n`` HTTP Request nodes, each connected to the next."""
    nodes: list[dict[str, Any]] = [
        {"name": "Start", "type": "n8n-nodes-base.manualTrigger", "parameters": {}}
    ]
    connections: dict[str, Any] = {}
    previous = "Start"
    for i in range(n):
        name = f"Call {i}"
        url = "https://api.example.com/v1/items" + ("/={{ $json.id }}" if i else "")
        nodes.append(
            {
                "name": name,
                "type": "n8n-nodes-base.httpRequest",
                "typeVersion": 4.2,
                "position": [i * 200, 0],
                "parameters": {
                    "method": "POST" if i % 2 else "GET",
                    "url": ("=" + url.replace("/=", "/")) if i else url,
                    "sendHeaders": True,
                    "headerParameters": {"parameters": [{"name": "X-Trace", "value": f"t{i}"}]},
                    "sendQuery": True,
                    "queryParameters": {"parameters": [{"name": "page", "value": str(i)}]},
                },
            }
        )
        connections[previous] = {"main": [[{"node": name, "type": "main", "index": 0}]]}
        previous = name
    return json.dumps({"name": "big", "nodes": nodes, "connections": connections})


def _import(text: str) -> None:
    imported = import_n8n(text, "big.json")
    to_yaml(imported.steps, name=imported.name)


def _best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure(quick: bool, nodes: int = NODES) -> dict[str, float]:
    """Seconds of the import and of ``json.loads`` (min over rounds), and their ratio."""
    text = export(nodes)
    rounds = 1 if quick else 3
    best = {"import_s": float("inf"), "json_loads_s": float("inf")}
    for _ in range(rounds):
        best["json_loads_s"] = min(best["json_loads_s"], _best(lambda: json.loads(text), 3))
        best["import_s"] = min(best["import_s"], _best(lambda: _import(text), 1))
    return {**best, "ratio_import_vs_json_loads": best["import_s"] / best["json_loads_s"]}


def main() -> int:
    """Print the figures; 1 when the import took :data:`LIMIT_S` or more."""
    nodes = NODES
    if "--nodes" in sys.argv:
        nodes = int(sys.argv[sys.argv.index("--nodes") + 1])
    figures = measure("--quick" in sys.argv, nodes)
    print(f"n8n export of {nodes:,} HTTP Request nodes ({len(export(nodes)):,} characters)")
    for name, value in figures.items():
        print(f"{name:32} {value:.3f}")
    if figures["import_s"] >= LIMIT_S:
        print(f"FAIL: the import took {figures['import_s']:.1f} s (limit {LIMIT_S:.0f} s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
