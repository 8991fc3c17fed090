"""The benchmarks' targets: one row per figure, and how a measured value is judged.

Every figure ``run.py`` prints has a key here. A figure with a target says:

- ``op`` and ``value``: the target (``<=``, ``>=`` or ``==``);
- ``allowance``: the noise allowed past the target, a fraction of it (0.10: a ``<= 1.15``
  target is still met at 1.265), sized by how much the figure moved between runs on a busy
  2-core machine (other suites running beside it). A value past the target but within the
  allowance is "met, within the allowance"; past the allowance it is missed;
- ``gate``: ``robust`` figures are checked by the quick run (CI's ``python benchmarks/run.py
  --quick``), which exits 1 when one misses; ``reported`` figures are printed and recorded
  only: too noisy on a shared 2-core machine to fail a build on, or measured too small in the
  quick run to mean the same as in the full one, or missing today (said in ``why``);
- ``judged_on``: which of the run's ``min`` and ``median`` it is judged on.

A figure without a target (a reference, measured so that the others can be read) is always
reported and never judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Op = Literal["<=", ">=", "=="]
Gate = Literal["robust", "reported"]
Stat = Literal["min", "median"]

#: What :meth:`Target.judge` answers.
MET, NEAR, MISSED, REFERENCE, NOT_MEASURED = (
    "yes",
    "yes, within the allowance",
    "no",
    "reference",
    "not measured",
)


@dataclass(frozen=True)
class Target:
    """One figure's target and how it is judged (see the module docstring)."""

    key: str
    figure: str
    op: Op | None = None
    value: float | None = None
    allowance: float = 0.0
    gate: Gate = "reported"
    judged_on: Stat = "median"
    #: for a reference: what it is read against; for a reported target: why it does not gate
    why: str = ""

    def __post_init__(self) -> None:
        if (self.op is None) != (self.value is None):
            raise ValueError(f"{self.key}: a target needs both op and value")
        if self.op is None and self.gate == "robust":
            raise ValueError(f"{self.key}: a reference cannot gate")

    @property
    def limit(self) -> float | None:
        """The value past which the figure is missed: the target widened by the allowance."""
        if self.value is None:
            return None
        if self.op == "<=":
            return self.value * (1 + self.allowance)
        if self.op == ">=":
            return self.value * (1 - self.allowance)
        return self.value  # "==": the allowance widens both ways, see judge

    def judge(self, measured: float | None) -> str:
        """:data:`MET`, :data:`NEAR` (past the target, within the allowance), :data:`MISSED`,
        :data:`REFERENCE` or :data:`NOT_MEASURED`."""
        if self.op is None or self.value is None:
            return REFERENCE
        if measured is None:
            return NOT_MEASURED
        if self.op == "<=":
            ok, near = measured <= self.value, measured <= self.value * (1 + self.allowance)
        elif self.op == ">=":
            ok, near = measured >= self.value, measured >= self.value * (1 - self.allowance)
        else:
            ok = measured == self.value
            near = abs(measured - self.value) <= abs(self.value) * self.allowance
        return MET if ok else NEAR if near else MISSED

    def text(self) -> str:
        """The target as printed: ``<= 1.15 (+10 %)``, or ``(reference)``."""
        if self.op is None:
            return "(reference)"
        value = f"{self.value:g}"
        if not self.allowance:
            return f"{self.op} {value}"
        sign = "+" if self.op == "<=" else "-" if self.op == ">=" else "+/-"
        return f"{self.op} {value} ({sign}{self.allowance * 100:g} %)"


def _hostile(name: str) -> Target:
    return Target(
        f"bounds_{name}",
        f"hostile input {name}: 10x / 1x (linear ~10)",
        "<=",
        15,
        0.15,
        "robust",
        "min",
    )


#: Every figure, in the order printed.
TARGETS: tuple[Target, ...] = (
    # the per-call path: in-process over httpx.MockTransport, thread CPU time, 24 rounds
    # interleaved, judged on the median of the rounds' ratios. On 2026-12-07 it measured
    # 1.15-1.22 (wall clock and CPU time agree): past its target, within the allowance; the
    # injected 2 ms of tests/test_benchmarks_gate.py takes it past 15.
    Target(
        "overhead",
        "overhead per call (rtk-task / raw httpx)",
        "<=",
        1.15,
        0.15,
        "robust",
        "median",
    ),
    Target(
        "overhead_new_url",
        "overhead per call, a new URL each call (rtk-task / raw httpx)",
        why="raw httpx parses every URL anyway",
    ),
    # against the emulator in its own process
    Target(
        "loopback_vs_sdk",
        "loopback sync throughput (rtk-task / official SDK)",
        ">=",
        1.3,
        0.10,
        why="the emulator shares the 2 cores: 0.99-1.85 in quick runs",
    ),
    Target(
        "loopback_httpx_vs_sdk",
        "loopback sync throughput (raw httpx / official SDK)",
        why="about 1.4",
    ),
    Target(
        "async_vs_httpx",
        "async throughput, c=64 (rtk-task / raw httpx)",
        ">=",
        0.9,
        0.10,
        why="the emulator shares the 2 cores: 0.78-1.10 in quick runs",
    ),
    Target("async_vs_sdk", "async throughput, c=64 (rtk-task / official SDK)"),
    Target(
        "cold_start",
        "cold start (rtk-task test --dry-run / bare imports)",
        "<=",
        1.3,
        0.10,
        why="missed for real: 1.49-1.69 in quick runs (see 'Cold start' below)",
    ),
    Target(
        "manifest_build",
        "manifest build, 10x the fields / 1x (time; linear ~10)",
        "<=",
        12,
        0.15,
        why="the quick run's sizes (1,000 / 100 fields): 6.3-13 between runs",
    ),
    Target(
        "memory_cap",
        "peak RSS growth, 100 MB body, 1 MB cap (MB)",
        "<=",
        20,
        0.0,
        "robust",
        "min",
    ),
    Target(
        "memory_async",
        "peak RSS growth, async creates at c=100 (MB, rtk-task)",
        why="raw httpx's growth, printed beside it",
    ),
    # bench_check
    Target(
        "check_linear",
        "check: 1,000-step / 100-step workflow (linear ~10)",
        "<=",
        12,
        0.15,
        judged_on="min",
        why="9.6-24 in quick runs: a busy machine's cache misses hit 1,000 steps most",
    ),
    Target(
        "check_again_vs_call",
        "check: 10-step workflow again / one call",
        "<=",
        0.5,
        0.15,
        judged_on="min",
        why="0.49-0.58 in quick runs",
    ),
    Target("check_cold_vs_call", "check: 10-step workflow, freshly parsed / one call"),
    # bench_bounds
    *(
        _hostile(name)
        for name in (
            "docs_spaces_in_cell",
            "docs_spaces_in_description",
            "docs_pipes",
            "docs_pipe_space_pairs",
        )
    ),
    # bench_temporal
    Target(
        "temporal",
        "Temporal: chain of creates, rtk-task / hand-written temporalio+httpx (per step)",
        "<=",
        1.15,
        0.10,
        judged_on="min",
        why="a Temporal dev server and the emulator share the 2 cores: 0.82-1.05",
    ),
    # bench_flow
    Target(
        "flow_limited_429s",
        "for_each adds at 100/1s: 429s received",
        "==",
        0,
        0.0,
        "robust",
        "min",
    ),
    Target(
        "flow_limited_ideal",
        "for_each adds at 100/1s: time / ideal",
        "<=",
        1.11,
        0.05,
        judged_on="min",
        why="1.02-1.34 in quick runs (300 adds: 3 windows)",
    ),
    Target(
        "flow_limited250_429s",
        "for_each adds at 250/2.5s: 429s received",
        "==",
        0,
        0.0,
        "robust",
        "min",
    ),
    Target(
        "flow_limited250_ideal",
        "for_each adds at 250/2.5s: time / ideal",
        "<=",
        1.11,
        0.05,
        judged_on="min",
        why="1.13-1.42 in quick runs (300 adds: 1 window)",
    ),
    Target(
        "flow_unlimited",
        "for_each adds, c=64 (throughput vs bare httpx gather)",
        ">=",
        0.9,
        0.15,
        judged_on="median",
        why="0.68-1.33 in quick runs (1.31 in the last full run): to look into",
    ),
    # bench_cli_bulk: the real command line, process start to exit, against a threaded server
    # keeping the limit itself (the quick run: one round at the full sizes)
    Target(
        "cli_bulk1k_ideal",
        "rtk-task run: 1,000 adds at 100/1s, process start to exit / ideal (9 s)",
        "<=",
        1.11,
        0.05,
        judged_on="min",
        why="1.09-1.25 in 6 runs beside other suites (1.09-1.12 when the load was lowest): "
        "start-up is 0.4-1.3 s of it, so the machine's load decides; too near its line to gate",
    ),
    Target(
        "cli_bulk1k_429s",
        "rtk-task run: 1,000 adds at 100/1s: 429s received",
        "==",
        0,
        0.0,
        "robust",
        "min",
    ),
    Target(
        "cli_bulk10k_ideal",
        "rtk-task run: 10,000 adds at 1,000/1s, process start to exit / ideal (9 s)",
        "<=",
        1.11,
        0.05,
        judged_on="min",
        why="missed for real: CPU-bound, ~0.95 ms of the client's CPU a request (httpx, "
        "httpcore, anyio ~70 %), 9.3-11 s for 10,000 where the limit allows 9: 1.21-1.98",
    ),
    Target(
        "cli_bulk10k_429s",
        "rtk-task run: 10,000 adds at 1,000/1s: 429s received",
        "==",
        0,
        0.0,
        "robust",
        "min",
    ),
    Target(
        "cli_bulk10k_rss_mb",
        "rtk-task run: 10,000 adds, peak RSS of the process (MB)",
        "<=",
        150,
        0.0,
        "robust",
        "min",
    ),
    Target(
        "cli_check10k_s",
        "rtk-task check: a 10,000-item input file, process start to exit (s)",
        "<=",
        1.0,
        0.0,
        "robust",
        "median",
    ),
    # bench_openapi_all
    Target(
        "openapi_github_s",
        "build --all: GitHub's document, 1,200+ operations (s)",
        "<=",
        30,
        0.0,
        "robust",
        "min",
    ),
    Target(
        "openapi_github_vs_load",
        "build --all: GitHub's document / parsing it alone",
        "<=",
        10,
        0.10,
        "robust",
        "min",
    ),
    Target(
        "openapi_1000_s",
        "build --all: 1,000-operation document (s)",
        "<=",
        30,
        0.0,
        "robust",
        "min",
    ),
    Target(
        "openapi_linear",
        "build --all: 2,000 / 1,000 operations (linear ~2)",
        "<=",
        2.5,
        0.15,
        "robust",
        "min",
    ),
    # bench_imports
    Target(
        "import_n8n_s",
        "import n8n: 20,000 HTTP Request nodes (s)",
        "<=",
        10,
        0.0,
        judged_on="min",
        why="3.6-6.2 s in quick runs beside other suites: too near its line to gate",
    ),
    Target("import_n8n_vs_json", "import n8n: 20,000 nodes / json.loads of the same text"),
    # bench_tracing
    Target(
        "tracing_off",
        "traces off: a loopback call, rtk-task / raw httpx",
        "<=",
        1.15,
        0.15,
        why="wall time over loopback with the server in the same process: too noisy to gate",
    ),
    Target(
        "tracing_on_vs_off",
        "traces on (SDK, spans dropped) / off, a loopback call",
        "<=",
        1.10,
        0.05,
        why="1.20-1.23 measured: the SDK's span start and end (~60-90 us a span); "
        "not met yet (issue 27)",
    ),
    Target(
        "tracing_on_vs_off_mock",
        "traces on / off, an in-process call (MockTransport, ~0.3 ms)",
        why="the cost of a span against a call with no network at all",
    ),
)

BY_KEY: dict[str, Target] = {t.key: t for t in TARGETS}
if len(BY_KEY) != len(TARGETS):
    raise ValueError("two targets share a key")
