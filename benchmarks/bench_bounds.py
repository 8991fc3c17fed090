"""Hostile inputs cost time linear in their size: 10x the input takes about 10x the time.

    python benchmarks/bench_bounds.py [--quick]

:func:`measure` times, interleaved in one run (min over rounds), each hostile input at two
sizes, N and 10*N, and reports the ratio (near 10 is linear; a quadratic parser shows near
100):

- a docs page whose table cell holds a long run of spaces (``my`` + spaces + ``name |``);
- a docs page with a long run of pipes, and of ``| `` pairs, in a description;
- a workflow file nested N levels deep in flow style, refused at the depth bound (the ratio
  stays near 1: the refusal reads no further than the bound, plus the 1,024 characters
  ruamel's scanner looks ahead for a simple key).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rtk_task.errors import RtkError
from rtk_task.manifests.docs import parse_docs
from rtk_task.workflows.model import parse_workflow

HEAD = [
    "POST /accounts/{account_id}/things",
    "Make a thing.",
    "Request body fields",
    "Name | Type | Required | Description |",
    "---|---|---|---|",
    "title |",
    "String | Yes |",
]


def _page(middle: str, closing: str = " |") -> str:
    return "\n".join([*HEAD, middle + closing, "other |", "String | No | x |"]) + "\n"


def inputs(n: int) -> dict[str, str]:
    """Each hostile input at size ``n`` (characters of the long run)."""
    return {
        "docs_spaces_in_cell": "\n".join([*HEAD[:5], "my" + " " * n + "name |"]) + "\n",
        "docs_spaces_in_description": _page("a" + " " * n + "b"),
        "docs_pipes": _page("|" * n),
        "docs_pipe_space_pairs": _page("| " * (n // 2)),
        "yaml_deep_flow": "name: x\nsteps: " + "[" * n + "]" * n + "\n",
    }


def _load(name: str, text: str) -> None:
    try:
        if name.startswith("docs"):
            parse_docs(text, "bench.txt")
        else:
            parse_workflow(text, "bench.yaml", references=False)
    except RtkError:
        pass  # refusing is the point; only the time it took matters


def _best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure(quick: bool) -> dict[str, float]:
    """Seconds at N and 10*N for each hostile input (min over rounds), and their ratios."""
    n = 16_000 if quick else 40_000
    rounds, repeat = (2, 2) if quick else (5, 3)
    small, large = inputs(n), inputs(10 * n)
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name in small:
            for size, texts in (("1x", small), ("10x", large)):
                key = f"{name}_{size}"
                took = _best(functools.partial(_load, name, texts[name]), repeat)
                best[key] = min(best.get(key, float("inf")), took)
    ratios = {f"ratio_{name}_10x_vs_1x": best[f"{name}_10x"] / best[f"{name}_1x"] for name in small}
    return {**{f"{k}_s": v for k, v in best.items()}, **ratios}


if __name__ == "__main__":
    for name, value in measure("--quick" in sys.argv).items():
        print(f"{name:48} {value:.6f}")
