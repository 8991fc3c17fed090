"""rtk-task benchmarks: measured side by side in one run, reported as ratios, judged.

    python benchmarks/run.py [--quick] [--json FILE] [--only KEYS] [--results-dir DIR]
    python benchmarks/run.py --profile      # cProfile of the overhead case
    python benchmarks/run.py --markdown benchmarks/results/<run>.json [--write-md]

Machines here are noisy, so every figure is a ratio of two things measured in the same run,
interleaved, with min and median over repeats. Network traffic goes to 127.0.0.1 only.

Each figure is judged against its target in ``targets.py`` (with a noise allowance): the
``met`` column. Every run writes ``benchmarks/results/<UTC date-time>.json`` (the rows, the
machine, the commit) and exits 1 when a ``robust`` figure misses, naming it and by how much;
``reported`` figures are only printed. ``--only overhead,flow_*`` runs the measurements that
give those figure keys (shell-style patterns) and judges only them.

``RTK_BENCH_INJECT_DELAY=SECONDS`` (or ``--slow-call SECONDS``) makes every call attempt of
rtk-task's clients burn that much CPU time more in this process, so that a run can be shown
to fail (``tests/test_benchmarks_gate.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import fnmatch
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from targets import BY_KEY, MISSED, TARGETS, Target

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0001"
BODY = {
    "title": "Weekly sync",
    "record_on_start": True,
    "ai_config": {"summarization": {"summary_type": "team_meeting", "word_limit": 300}},
}
MEETING = {
    "success": True,
    "data": {
        "id": "6f1c7f9e-0000-4000-8000-000000000001",
        "title": "Weekly sync",
        "status": "ACTIVE",
        "created_at": "2026-11-24T00:00:00Z",
        "updated_at": "2026-11-24T00:00:00Z",
        "record_on_start": True,
    },
}
CREATED = json.dumps(MEETING).encode()
PATH = "/accounts/acc/realtimekit/meetings"


def _repeat(
    fns: dict[str, Callable[[], None]],
    n: int,
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds per call of each function, ``repeats`` rounds, interleaved."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            start = clock()
            for _ in range(n):
                fn()
            times[name].append((clock() - start) / n)
    return times


def _row(
    key: str,
    a: str,
    b: str,
    times: dict[str, list[float]],
    higher_is_better: bool = False,
    paired: bool = False,
) -> dict[str, Any]:
    """A ratio a/b (time) or b/a (throughput) with min and median: the ratio of the minima,
    and of the medians or (``paired``) the median of the rounds' ratios, each round of a over
    the round of b run right after it (a busy machine's slow spells fall on both alike)."""
    ra = min(times[a]) / min(times[b])
    if paired:
        rm = statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))
    else:
        rm = statistics.median(times[a]) / statistics.median(times[b])
    if higher_is_better:
        ra, rm = 1 / ra, 1 / rm
    return {
        "key": key,
        "ratio_min": round(ra, 3),
        "ratio_median": round(rm, 3),
        a: _fmt(times[a]),
        b: _fmt(times[b]),
    }


def _fmt(values: list[float]) -> str:
    return f"min {min(values) * 1e6:.1f} us, median {statistics.median(values) * 1e6:.1f} us"


# -- overhead: rtk_task.Client vs a bare httpx post, same MockTransport ---------------------


def _created(request: httpx.Request) -> httpx.Response:
    """The MockTransport handler of every in-process case: a created meeting."""
    return httpx.Response(201, content=CREATED, headers={"content-type": "application/json"})


def _overhead_calls() -> dict[str, Callable[[], None]]:
    """One create each way, through the same MockTransport handler with the same body."""
    from rtk_task import Client

    raw = httpx.Client(transport=httpx.MockTransport(_created))
    rtk = Client(
        base_url="http://127.0.0.1:1/client/v4",
        token=TOKEN,
        transport=httpx.MockTransport(_created),
    )
    inputs = {"account_id": "acc", **BODY}
    counter = iter(range(10**9))

    def post(path: str) -> None:
        r = raw.post(
            f"http://127.0.0.1:1/client/v4{path}",
            json=BODY,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert r.json()["data"]["id"]

    def bare() -> None:
        post(PATH)

    def task() -> None:
        assert rtk.call("realtimekit.meetings.create", inputs).outputs["meeting_id"]

    # a URL never sent before on every call: no parsed-URL reuse on either side
    def bare_new_url() -> None:
        post(f"/accounts/a{next(counter)}/realtimekit/meetings")

    def task_new_url() -> None:
        fresh = {**inputs, "account_id": f"a{next(counter)}"}
        assert rtk.call("realtimekit.meetings.create", fresh).outputs["meeting_id"]

    return {"rtk_task": task, "httpx": bare, "rtk_new": task_new_url, "httpx_new": bare_new_url}


def profile_overhead(calls: int = 3000, top: int = 15) -> None:
    """cProfile of the rtk-task side of the overhead case, after a warm-up."""
    import cProfile
    import pstats

    task = _overhead_calls()["rtk_task"]
    for _ in range(200):
        task()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        task()
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"cProfile, {calls:,} rtk-task creates over MockTransport, by own time")
    stats.sort_stats("tottime").print_stats(top)
    print("rtk-task's own functions, by cumulative time")
    stats.sort_stats("cumulative").print_stats("rtk_task/", top)


def overhead(quick: bool) -> list[dict[str, Any]]:
    """Both sides in this thread with no I/O at all (``MockTransport``), so timed in the
    thread's CPU time: what other processes on a busy machine take of the wall clock, by
    preempting this one mid-round, is not counted against either side. Many short rounds,
    interleaved, after a warm-up of each side; the median is of the rounds' ratios."""
    n, repeats = (50, 24) if quick else (200, 40)
    calls = _overhead_calls()
    for fn in calls.values():
        for _ in range(100):
            fn()
    times = _repeat(calls, n, repeats, clock=time.thread_time)
    how = {
        "clock": "thread CPU time",
        "calls_per_round": n,
        "rounds": repeats,
        "median_of": "the rounds' ratios",
    }
    return [
        {**_row("overhead", "rtk_task", "httpx", times, paired=True), **how},
        {**_row("overhead_new_url", "rtk_new", "httpx_new", times, paired=True), **how},
    ]


# -- loopback: the emulator, sync --------------------------------------------------------------


def loopback(quick: bool, base: str) -> list[dict[str, Any]]:
    from cloudflare import Cloudflare

    from rtk_task import Client

    raw = httpx.Client()
    rtk = Client(base_url=base, token=TOKEN)
    sdk = Cloudflare(api_token=TOKEN, base_url=base, max_retries=0)
    inputs = {"account_id": "acc", "app_id": "app", **BODY}
    live = f"{base}/accounts/acc/realtime/kit/app/meetings"

    def bare() -> None:
        r = raw.post(live, json=BODY, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 201

    def task() -> None:
        assert rtk.call("realtimekit.meetings.create", inputs).ok

    def official() -> None:
        sdk.realtime_kit.meetings.create(account_id="acc", app_id="app", **BODY)  # type: ignore[arg-type]

    times = _repeat(
        {"rtk_task": task, "httpx": bare, "sdk": official}, 50 if quick else 400, 3 if quick else 5
    )
    return [
        _row("loopback_vs_sdk", "rtk_task", "sdk", times, higher_is_better=True),
        _row("loopback_httpx_vs_sdk", "httpx", "sdk", times, higher_is_better=True),
    ]


# -- async: concurrency 64 ---------------------------------------------------------------------


def async_throughput(quick: bool, base: str) -> list[dict[str, Any]]:
    from cloudflare import AsyncCloudflare

    from rtk_task import AsyncClient

    total = 200 if quick else 2000
    inputs = {"account_id": "acc", "app_id": "app", **BODY}
    live = f"{base}/accounts/acc/realtime/kit/app/meetings"
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)

    async def drive(one: Callable[[], Any], calls: int = total) -> float:
        sem = asyncio.Semaphore(64)

        async def bounded() -> None:
            async with sem:
                await one()

        start = time.perf_counter()
        await asyncio.gather(*(bounded() for _ in range(calls)))
        return time.perf_counter() - start

    async def main() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {"rtk_task": [], "httpx": [], "sdk": []}
        async with (
            httpx.AsyncClient(limits=limits) as raw,
            AsyncClient(
                base_url=base, token=TOKEN, http_client=httpx.AsyncClient(limits=limits)
            ) as rtk,
        ):
            sdk = AsyncCloudflare(
                api_token=TOKEN,
                base_url=base,
                max_retries=0,
                http_client=httpx.AsyncClient(limits=limits),
            )

            async def bare() -> None:
                r = await raw.post(live, json=BODY, headers={"Authorization": f"Bearer {TOKEN}"})
                assert r.status_code == 201

            async def task() -> None:
                assert (await rtk.call("realtimekit.meetings.create", inputs)).ok

            async def official() -> None:
                await sdk.realtime_kit.meetings.create(account_id="acc", app_id="app", **BODY)  # type: ignore[arg-type]

            clients = (("rtk_task", task), ("httpx", bare), ("sdk", official))
            for _, fn in clients:  # each pool opens its 64 connections before it is timed
                await drive(fn, 128)
            for _ in range(2 if quick else 3):
                for name, fn in clients:
                    times[name].append(await drive(fn) / total)
            await sdk.close()
        return times

    times = asyncio.run(main())
    return [
        _row("async_vs_httpx", "rtk_task", "httpx", times, higher_is_better=True),
        _row("async_vs_sdk", "rtk_task", "sdk", times, higher_is_better=True),
    ]


# -- cold start --------------------------------------------------------------------------------


def cold_start(quick: bool) -> list[dict[str, Any]]:
    import compileall

    # an editable checkout has no bytecode until a run writes it (never, under
    # PYTHONDONTWRITEBYTECODE); a wheel install compiles it, as site-packages' httpx is
    compileall.compile_dir(ROOT / "rtk_task", quiet=1)
    workflow = ROOT / "rtk_task" / "examples" / "onboard-call.yaml"
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": TOKEN}
    commands = {
        "rtk_task": [
            sys.executable,
            "-c",
            "from rtk_task.cli import main; main()",
            "test",
            str(workflow),
            "--step",
            "create_meeting",
            "--dry-run",
        ],
        "imports": [sys.executable, "-c", "import httpx, pydantic, jinja2"],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(3 if quick else 15):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return [_row("cold_start", "rtk_task", "imports", times)]


# -- manifest build growth ------------------------------------------------------------------------


def _page(fields: int) -> str:
    lines = [
        "POST /things",
        "Make a thing.",
        "Servers",
        "- https://example.invalid/v1",
        "Request body fields",
        "Name | Type | Required | Description |",
        "---|---|---|---|",
    ]
    for i in range(fields):
        if i % 10 == 0:
            lines += [f"group{i} |", "Object | No |", "A group of settings. |"]
        else:
            g = i - i % 10
            lines += [
                f"group{g}.field{i} |",
                "String | No |",
                f"Field {i}, which spans",
                'two lines. Valid values: "a", "b"',
                'Default value: "a" |',
            ]
    return "\n".join(lines) + "\n"


def manifest_build(quick: bool) -> list[dict[str, Any]]:
    from rtk_task.manifests.build import build_manifest

    sizes = [10, 100, 1000] if quick else [10, 100, 1000, 10000]
    times: dict[str, list[float]] = {str(n): [] for n in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        pages = {n: Path(tmp) / f"page{n}.txt" for n in sizes}
        for n, page in pages.items():
            page.write_text(_page(n))
        for _ in range(3 if quick else 5):  # rounds over every size: noise hits all alike
            for n, page in pages.items():
                gc.collect()
                start = time.perf_counter()
                build_manifest(page, task_id="bench.things.create").manifest.to_json()
                times[str(n)].append(time.perf_counter() - start)
    top, below = str(sizes[-1]), str(sizes[-2])
    return [
        {
            "key": "manifest_build",
            "ratio_min": round(min(times[top]) / min(times[below]), 3),
            "ratio_median": round(
                statistics.median(times[top]) / statistics.median(times[below]), 3
            ),
            "fields": f"{top} / {below}",
            "seconds": {k: round(min(v), 4) for k, v in times.items()},
        }
    ]


# -- memory ------------------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(quick: bool) -> list[dict[str, Any]]:
    from rtk_task import Client

    size = 100 * 1024 * 1024
    chunk = b"x" * 65536

    def stream() -> Any:
        for _ in range(size // len(chunk)):
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=stream(), headers={"content-type": "application/json"})

    client = Client(
        base_url="http://127.0.0.1:1/v4",
        token=TOKEN,
        transport=httpx.MockTransport(handler),
        max_response_bytes=1024 * 1024,
    )
    before = _rss_mb()
    peak = before
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss_mb())
            time.sleep(0.005)

    watcher = threading.Thread(target=sample)
    watcher.start()
    result = client.call("realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"})
    stop.set()
    watcher.join()
    assert not result.ok, "a 100 MB body passed a 1 MB cap"
    grown = round(peak - before, 2)
    return [{"key": "memory_cap", "ratio_min": grown, "ratio_median": grown}]


def memory_async(quick: bool) -> list[dict[str, Any]]:
    """Peak RSS growth while 10,000 creates run at concurrency 100, each client in a fresh
    process (MockTransport: the client's own memory, no server in the process)."""
    total = 1000 if quick else 10_000
    grown = {}
    for kind in ("rtk_task", "httpx"):
        done = subprocess.run(
            [sys.executable, __file__, "--memory-child", kind, str(total)],
            check=True,
            capture_output=True,
            text=True,
        )
        grown[kind] = float(done.stdout.strip().splitlines()[-1])
    return [
        {
            "key": "memory_async",
            "ratio_min": round(grown["rtk_task"], 2),
            "ratio_median": round(grown["rtk_task"], 2),
            "creates": total,
            "reference": f"raw httpx: {grown['httpx']:.2f} MB",
        }
    ]


def _memory_child(kind: str, total: int) -> float:
    """Run ``total`` creates with one client kind; the peak RSS growth in MB."""
    from rtk_task import AsyncClient

    inputs = {"account_id": "acc", **BODY}
    url = f"http://127.0.0.1:1/client/v4{PATH}"

    async def main() -> float:
        raw = httpx.AsyncClient(transport=httpx.MockTransport(_created))
        rtk = AsyncClient(
            base_url="http://127.0.0.1:1/client/v4",
            token=TOKEN,
            transport=httpx.MockTransport(_created),
        )

        async def one() -> None:
            if kind == "httpx":
                r = await raw.post(url, json=BODY, headers={"Authorization": f"Bearer {TOKEN}"})
                assert r.status_code == 201
            else:
                assert (await rtk.call("realtimekit.meetings.create", inputs)).ok

        await one()  # imports and first-use caches are not what is measured
        sem = asyncio.Semaphore(100)

        async def bounded() -> None:
            async with sem:
                await one()

        gc.collect()
        before = peak = _rss_mb()
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _rss_mb())
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(sample())
        await asyncio.gather(*(bounded() for _ in range(total)))
        peak = max(peak, _rss_mb())
        stop.set()
        await watcher
        await raw.aclose()
        await rtk.aclose()
        return peak - before

    return asyncio.run(main())


# -- the figures of the bench_*.py modules ---------------------------------------------------


#: Benchmarks kept in modules of their own (``bench_*.py``, each with ``measure(quick)``): the
#: figures each gives, as (figure key, its key for the min, its key for the median or None
#: when the module reports a min only).
EXTERNAL: dict[str, list[tuple[str, str, str | None]]] = {
    "bench_check": [
        ("check_linear", "ratio_1000_vs_100", None),
        ("check_again_vs_call", "ratio_check_10_vs_call", None),
        ("check_cold_vs_call", "ratio_check_10_cold_vs_call", None),
    ],
    "bench_bounds": [
        (f"bounds_{name}", f"ratio_{name}_10x_vs_1x", None)
        for name in (
            "docs_spaces_in_cell",
            "docs_spaces_in_description",
            "docs_pipes",
            "docs_pipe_space_pairs",
        )
    ],
    "bench_temporal": [
        ("temporal", "temporal_per_step_ratio", "temporal_per_step_ratio_median"),
    ],
    "bench_flow": [
        ("flow_limited_429s", "limited_429s", None),
        ("flow_limited_ideal", "limited_elapsed_over_ideal", None),
        ("flow_limited250_429s", "limited250_429s", None),
        ("flow_limited250_ideal", "limited250_elapsed_over_ideal", None),
        ("flow_unlimited", "unlimited_throughput_ratio", "unlimited_throughput_ratio_median"),
    ],
    "bench_openapi_all": [
        ("openapi_github_s", "github_all_s", None),
        ("openapi_github_vs_load", "ratio_github_all_vs_load", None),
        ("openapi_1000_s", "synthetic_1000_all_s", None),
        ("openapi_linear", "ratio_2000_vs_1000", None),
    ],
    "bench_imports": [
        ("import_n8n_s", "import_s", None),
        ("import_n8n_vs_json", "ratio_import_vs_json_loads", None),
    ],
    "bench_cli_bulk": [
        ("cli_bulk1k_ideal", "bulk1k_elapsed_over_ideal", "bulk1k_elapsed_over_ideal_median"),
        ("cli_bulk1k_429s", "bulk1k_429s", None),
        ("cli_bulk10k_ideal", "bulk10k_elapsed_over_ideal", "bulk10k_elapsed_over_ideal_median"),
        ("cli_bulk10k_429s", "bulk10k_429s", None),
        ("cli_bulk10k_rss_mb", "bulk10k_rss_mb_max", None),
        ("cli_check10k_s", "check10k_s", "check10k_s_median"),
    ],
    "bench_tracing": [
        ("tracing_off", "ratio_off", None),
        ("tracing_on_vs_off", "ratio_on_vs_off_min", "ratio_on_vs_off"),
        ("tracing_on_vs_off_mock", "ratio_on_vs_off_mock", None),
    ],
}


def _external(module: str) -> Callable[[bool], list[dict[str, Any]]]:
    """The rows of one ``bench_*.py`` module; a figure it did not give (GitHub's document
    absent, say) is left out, and shows as not measured."""

    def measure(quick: bool) -> list[dict[str, Any]]:
        import importlib

        measured = importlib.import_module(module).measure(quick)
        rows = []
        for key, at_min, at_median in EXTERNAL[module]:
            if at_min in measured:
                low = round(float(measured[at_min]), 3)
                mid = round(float(measured[at_median]), 3) if at_median in measured else low
                rows.append({"key": key, "ratio_min": low, "ratio_median": mid, "source": module})
        return rows

    return measure


# -- what runs: groups of figures -------------------------------------------------------------


#: Each measurement, in the order run, and the figure keys it gives. Loopback and async need
#: the emulator (started once, in its own process, for both).
GROUPS: dict[str, list[str]] = {
    "overhead": ["overhead", "overhead_new_url"],
    "loopback": ["loopback_vs_sdk", "loopback_httpx_vs_sdk"],
    "async": ["async_vs_httpx", "async_vs_sdk"],
    "cold_start": ["cold_start"],
    "manifest_build": ["manifest_build"],
    "memory": ["memory_cap"],
    "memory_async": ["memory_async"],
    **{module: [key for key, _, _ in figures] for module, figures in EXTERNAL.items()},
}
ON_EMULATOR = ("loopback", "async")
if sorted(k for keys in GROUPS.values() for k in keys) != sorted(BY_KEY):
    raise ValueError("every figure of targets.py comes from exactly one group, and no other")


def _measure(group: str, quick: bool, base_url: str) -> list[dict[str, Any]]:
    if group == "loopback":
        return loopback(quick, base_url)
    if group == "async":
        return async_throughput(quick, base_url)
    local: dict[str, Callable[[bool], list[dict[str, Any]]]] = {
        "overhead": overhead,
        "cold_start": cold_start,
        "manifest_build": manifest_build,
        "memory": memory,
        "memory_async": memory_async,
    }
    return (local.get(group) or _external(group))(quick)


def select(patterns: str | None) -> list[str]:
    """The figure keys that ``--only`` names (comma-separated keys or shell patterns)."""
    if not patterns:
        return [t.key for t in TARGETS]
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    keys = [t.key for t in TARGETS if any(fnmatch.fnmatchcase(t.key, p) for p in wanted)]
    unknown = [p for p in wanted if not any(fnmatch.fnmatchcase(k, p) for k in BY_KEY)]
    if unknown or not keys:
        raise SystemExit(
            f"--only: no figure key matches {', '.join(unknown or wanted)}; the keys: "
            + ", ".join(BY_KEY)
        )
    return keys


def measure_all(quick: bool, keys: list[str]) -> list[dict[str, Any]]:
    """Run the groups that give ``keys``, in the order of :data:`GROUPS` (the emulator up
    from the first group that needs it to the last); the rows in the order of ``keys``."""
    groups = [g for g, given in GROUPS.items() if set(given) & set(keys)]
    served = [g for g in groups if g in ON_EMULATOR]
    rows: dict[str, dict[str, Any]] = {}
    with ExitStack() as emulator:
        base_url = ""
        for group in groups:
            if group in served and not base_url:
                from rtk_task.emulator import emulator_process

                # its own process: its own GIL, as a real server
                base_url = emulator.enter_context(emulator_process(TOKEN))
            rows |= {r["key"]: r for r in _measure(group, quick, base_url)}
            if served and group == served[-1]:
                emulator.close()
    return [rows.get(key) or {"key": key, "ratio_min": None, "ratio_median": None} for key in keys]


# -- judging ------------------------------------------------------------------------------------


def judge(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its target, the value judged (min or median), the limit and ``met``."""
    target: Target = BY_KEY[row["key"]]
    measured = row.get(f"ratio_{target.judged_on}")
    return {
        **row,
        "figure": target.figure,
        "target": target.text(),
        "op": target.op,
        "value": target.value,
        "allowance": target.allowance,
        "limit": None if target.limit is None else round(target.limit, 6),
        "gate": target.gate if target.op else "reference",
        "judged_on": target.judged_on,
        "measured": measured,
        "met": target.judge(measured),
        "why": target.why,
    }


def misses(rows: list[dict[str, Any]], gate: str = "robust") -> list[dict[str, Any]]:
    """The rows of ``gate`` that missed their target past the allowance."""
    return [r for r in rows if r["gate"] == gate and r["met"] == MISSED]


def by_how_much(row: dict[str, Any]) -> str:
    """``median 2.31 > 1.3225 (target <= 1.15 (+15 %)): 75 % past the limit``."""
    measured, limit = row["measured"], row["limit"]
    op = {"<=": ">", ">=": "<", "==": "!="}[row["op"]]
    past = f"{abs(measured - limit) / abs(limit) * 100:.0f} % past the limit" if limit else ""
    past = past or f"{measured - limit:+g}"
    return f"{row['judged_on']} {measured:g} {op} {limit:g} (target {row['target']}): {past}"


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'figure':80} {'min':>8} {'median':>8}  {'target':24} {'gate':9} met")
    for r in rows:
        low = "-" if r["ratio_min"] is None else r["ratio_min"]
        mid = "-" if r["ratio_median"] is None else r["ratio_median"]
        target = r["target"] if "reference" not in r else f"({r['reference']})"
        print(f"{r['figure']:80} {low:>8} {mid:>8}  {target:24} {r['gate']:9} {r['met']}")


# -- the record of a run --------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "summary": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii").split()
        info["memory_gib"] = round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return info


def git_info() -> dict[str, Any] | None:
    """The commit checked out and whether tracked files differ from it (read only: git takes
    no optional lock, so it writes nothing, not even a refreshed index)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode:
            return None
        status = git("status", "--porcelain", "--untracked-files=no")
    except OSError:
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def write_record(record: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = record["started"].replace("-", "").replace(":", "")
    path = folder / f"{stamp}.json"
    n = 1
    while path.exists():  # two runs in the same second
        n += 1
        path = folder / f"{stamp}-{n}.json"
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


# -- RESULTS.md ---------------------------------------------------------------------------------

RESULTS_MD = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- generated: begin -->", "<!-- generated: end -->"


def _measured_text(row: dict[str, Any]) -> str:
    if row["measured"] is None:
        return "-"
    other = "median" if row["judged_on"] == "min" else "min"
    shown = f"{row['measured']:g}"
    if row[f"ratio_{other}"] != row["measured"]:
        shown += f" ({row['judged_on']}; {other} {row[f'ratio_{other}']:g})"
    return shown


def markdown(record: dict[str, Any], source: str) -> str:
    """The section of RESULTS.md for one run's record: its table and what missed."""
    rows = record["rows"]
    when = record["started"].replace("T", " ").removesuffix("Z")[:16]
    git = record.get("git") or {}
    commit = git.get("commit", "")[:7] or "unknown commit"
    if git.get("dirty"):
        commit += ", with uncommitted changes"
    machine = record["machine"]
    load = ", ".join(f"{x:g}" for x in machine.get("load_average", []))
    only = f" of {record['only']}" if record.get("only") else ""
    intro = (
        f"Generated by `python benchmarks/run.py --markdown {source} --write-md` from the"
        f" record of `python benchmarks/run.py{' --quick' if record['mode'] == 'quick' else ''}"
        f"`{only}. Machine: {machine['summary']}"
        + (f", {machine['memory_gib']:g} GiB" if "memory_gib" in machine else "")
        + (f"; load average {load} as it started" if load else "")
        + f"; the run took {record['seconds']:.0f} s. `robust` figures gate: the quick run (CI)"
        " exits 1 when one misses past its noise allowance. `reported` ones are printed only;"
        " the note says why. Targets and allowances: `benchmarks/targets.py`."
    )
    paragraphs = [f"## {when} UTC: {record['mode']} run ({commit})", _wrap(intro)]
    if record.get("injected_delay_s"):
        paragraphs.append(
            _wrap(
                f"**This run had {record['injected_delay_s'] * 1000:g} ms injected into every"
                " rtk-task call: its figures are not rtk-task's.**"
            )
        )
    table = ["| figure | measured | target | met | gate | note |", "|---|---|---|---|---|---|"]
    for r in rows:
        target = r["target"] if "reference" not in r else f"({r['reference']})"
        note = r["why"] if r["gate"] != "robust" else ""
        table.append(
            f"| {r['figure']} | {_measured_text(r)} | {target} | {r['met']} | {r['gate']} "
            f"| {note} |"
        )
    paragraphs.append("\n".join(table))
    missed, reported = misses(rows), misses(rows, "reported")
    if missed:
        text = "Robust figures missed: " + "; ".join(by_how_much(r) for r in missed) + "."
    else:
        text = f"Every robust figure met its target (exit code {record['exit_code']})."
    if reported:
        text += " Reported figures past their allowance: " + "; ".join(
            f"{r['key']}, {by_how_much(r)}" for r in reported
        )
        text += "."
    paragraphs.append(_wrap(text))
    return "\n\n".join(paragraphs) + "\n"


def _wrap(text: str) -> str:
    import textwrap

    return textwrap.fill(text, width=95, break_long_words=False, break_on_hyphens=False)


def write_markdown(section: str, path: Path = RESULTS_MD) -> None:
    """Put ``section`` at the top of RESULTS.md, under its title, in place of the section
    generated before (the sections below it stay, as history)."""
    text = path.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        below = rest.split(END, 1)[1]
    else:
        title, _, below = text.partition("\n")
        head = f"{title}\n\n"
    text = f"{head}{BEGIN}\n{section}{END}\n\n{below.lstrip()}"
    path.write_text(text, encoding="utf-8")


# -- a slower rtk-task, on purpose ----------------------------------------------------------------


def inject_delay(seconds: float) -> None:
    """Make every call attempt of ``rtk_task.Client`` and ``AsyncClient`` (in this process)
    burn ``seconds`` of CPU time first, as slower code in the call path would. Spinning, not
    sleeping: the overhead figure counts CPU time."""
    from rtk_task import client as module

    def spin() -> None:
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    sync_attempt = module.Client._attempt
    async_attempt = module.AsyncClient._attempt

    def slow(self: Any, send: Any, timeout: Any) -> Any:
        spin()
        return sync_attempt(self, send, timeout)

    async def slow_async(self: Any, send: Any, timeout: Any) -> Any:
        spin()
        return await async_attempt(self, send, timeout)

    module.Client._attempt = slow  # type: ignore[method-assign]
    module.AsyncClient._attempt = slow_async  # type: ignore[method-assign]


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: what CI runs")
    parser.add_argument("--json", dest="json_file", help="also write the run's record here")
    parser.add_argument(
        "--only",
        metavar="KEYS",
        help="comma-separated figure keys or shell patterns (overhead,flow_*): measure and "
        "judge only these (keys: benchmarks/targets.py)",
    )
    parser.add_argument(
        "--results-dir",
        default=str(Path(__file__).resolve().parent / "results"),
        help="where the run's record goes (default: benchmarks/results)",
    )
    parser.add_argument(
        "--markdown",
        metavar="RECORD",
        help="print the RESULTS.md section of a run's record (a results JSON) and stop",
    )
    parser.add_argument(
        "--write-md", action="store_true", help="with --markdown: put it atop RESULTS.md"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the overhead case and stop"
    )
    parser.add_argument("--slow-call", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(f"{_memory_child(args.memory_child[0], int(args.memory_child[1])):.3f}")
        return 0
    delay = args.slow_call
    if delay is None:
        delay = float(os.environ.get("RTK_BENCH_INJECT_DELAY") or 0)
    if delay:
        inject_delay(delay)
    if args.profile:
        profile_overhead()
        return 0
    if args.markdown:
        record = json.loads(Path(args.markdown).read_text(encoding="utf-8"))
        try:
            source = Path(args.markdown).resolve().relative_to(ROOT).as_posix()
        except ValueError:
            source = args.markdown
        section = markdown(record, source)
        print(section, end="")
        if args.write_md:
            write_markdown(section)
        return 0

    keys = select(args.only)
    started = dt.datetime.now(dt.UTC)
    machine = machine_info()
    clock = time.perf_counter()
    rows = [judge(row) for row in measure_all(args.quick, keys)]
    seconds = time.perf_counter() - clock
    missed = misses(rows)
    mode = "quick" if args.quick else "full"
    injected = f"; {delay * 1000:g} ms injected per rtk-task call" if delay else ""
    print(f"rtk-task benchmarks ({mode}; {machine['summary']}{injected})")
    print_table(rows)
    record = {
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": mode,
        "only": args.only,
        "injected_delay_s": delay,
        "machine": machine,
        "git": git_info(),
        "seconds": round(seconds, 1),
        "rows": rows,
        "missed_robust": [r["key"] for r in missed],
        "exit_code": 1 if missed else 0,
    }
    path = write_record(record, Path(args.results_dir))
    print(f"record: {path}")
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    for r in misses(rows, "reported"):
        print(f"missed, reported only: {r['figure']} [{r['key']}]: {by_how_much(r)}")
    for r in missed:
        print(f"MISSED (robust): {r['figure']} [{r['key']}]: {by_how_much(r)}")
    if missed:
        print(f"{len(missed)} robust figure(s) missed their target: exit 1")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
