"""rtk-task benchmarks: measured side by side in one run, reported as ratios.

    python benchmarks/run.py [--quick] [--json FILE]
    python benchmarks/run.py --profile      # cProfile of the overhead case

Machines here are noisy, so every figure is a ratio of two things measured in the same run,
interleaved, with min and median over repeats. Network traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
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
from pathlib import Path
from typing import Any

import httpx

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


def _repeat(fns: dict[str, Callable[[], None]], n: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each function, ``repeats`` rounds, interleaved."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - start) / n)
    return times


def _row(
    figure: str,
    a: str,
    b: str,
    times: dict[str, list[float]],
    target: str,
    higher_is_better: bool = False,
) -> dict[str, Any]:
    """A ratio a/b (time) or b/a (throughput) with min and median."""
    ra = min(times[a]) / min(times[b])
    rm = statistics.median(times[a]) / statistics.median(times[b])
    if higher_is_better:
        ra, rm = 1 / ra, 1 / rm
    return {
        "figure": figure,
        "ratio_min": round(ra, 3),
        "ratio_median": round(rm, 3),
        "target": target,
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
    n, repeats = (300, 3) if quick else (3000, 7)
    times = _repeat(_overhead_calls(), n, repeats)
    return [
        _row("overhead per call (rtk-task / raw httpx)", "rtk_task", "httpx", times, "<= 1.15"),
        _row(
            "overhead per call, a new URL each call (rtk-task / raw httpx)",
            "rtk_new",
            "httpx_new",
            times,
            "(reference)",
        ),
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
        _row(
            "loopback sync throughput (rtk-task / official SDK)",
            "rtk_task",
            "sdk",
            times,
            ">= 1.3",
            higher_is_better=True,
        ),
        _row(
            "loopback sync throughput (raw httpx / official SDK)",
            "httpx",
            "sdk",
            times,
            "about 1.4 (reference)",
            higher_is_better=True,
        ),
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
        _row(
            "async throughput, c=64 (rtk-task / raw httpx)",
            "rtk_task",
            "httpx",
            times,
            ">= 0.9",
            higher_is_better=True,
        ),
        _row(
            "async throughput, c=64 (rtk-task / official SDK)",
            "rtk_task",
            "sdk",
            times,
            "(reference)",
            higher_is_better=True,
        ),
    ]


# -- cold start --------------------------------------------------------------------------------


def cold_start(quick: bool) -> dict[str, Any]:
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
    return _row(
        "cold start (rtk-task test --dry-run / bare imports)",
        "rtk_task",
        "imports",
        times,
        "<= 1.3",
    )


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


def manifest_build(quick: bool) -> dict[str, Any]:
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
    return {
        "figure": f"manifest build, {top} / {below} fields (time)",
        "ratio_min": round(min(times[top]) / min(times[below]), 3),
        "ratio_median": round(statistics.median(times[top]) / statistics.median(times[below]), 3),
        "target": "<= 12",
        "seconds": {k: round(min(v), 4) for k, v in times.items()},
    }


# -- memory ------------------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(quick: bool) -> dict[str, Any]:
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
    return {
        "figure": "peak RSS growth, 100 MB body, 1 MB cap (MB)",
        "ratio_min": round(peak - before, 2),
        "ratio_median": round(peak - before, 2),
        "target": "<= 20",
    }


def memory_async(quick: bool) -> dict[str, Any]:
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
    return {
        "figure": f"peak RSS growth, {total:,} async creates at c=100 (MB, rtk-task)",
        "ratio_min": round(grown["rtk_task"], 2),
        "ratio_median": round(grown["rtk_task"], 2),
        "target": f"(raw httpx: {grown['httpx']:.2f} MB)",
    }


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


# -- main --------------------------------------------------------------------------------------


#: Benchmarks kept in modules of their own (``bench_*.py``, each with ``measure(quick)``): the
#: figures each gives, as (key, figure, target).
EXTERNAL: dict[str, list[tuple[str, str, str]]] = {
    "bench_check": [
        ("ratio_1000_vs_100", "check: 1,000-step / 100-step workflow (linear)", "<= 12"),
        ("ratio_check_10_vs_call", "check: 10-step workflow again / one call", "<= 0.5"),
        ("ratio_check_10_cold_vs_call", "check: 10-step workflow, freshly parsed / one call", "-"),
    ],
    "bench_bounds": [
        (f"ratio_{name}_10x_vs_1x", f"hostile input {name}: 10x / 1x (linear ~10)", "<= 15")
        for name in (
            "docs_spaces_in_cell",
            "docs_spaces_in_description",
            "docs_pipes",
            "docs_pipe_space_pairs",
        )
    ],
    "bench_temporal": [
        (
            "temporal_per_step_ratio",
            "Temporal: 50-step chain, rtk-task / hand-written temporalio+httpx (per step)",
            "<= 1.15",
        ),
    ],
    "bench_flow": [
        ("limited_429s", "for_each 1,000 adds at 100/1s: 429s received", "0"),
        ("limited_elapsed_over_ideal", "for_each 1,000 adds at 100/1s: time / ideal", "<= 1.11"),
        ("limited250_429s", "for_each 1,000 adds at 250/2.5s: 429s received", "0"),
        ("limited250_elapsed_over_ideal", "for_each at 250/2.5s: time / ideal", "<= 1.11"),
        (
            "unlimited_throughput_ratio",
            "for_each 1,000 adds, c=64 (throughput vs bare httpx gather)",
            ">= 0.9",
        ),
    ],
    "bench_openapi_all": [
        ("github_all_s", "build --all: GitHub's document, 1,200+ operations (s)", "<= 30"),
        ("ratio_github_all_vs_load", "build --all: GitHub's document / parsing it alone", "<= 10"),
        ("synthetic_1000_all_s", "build --all: 1,000-operation document (s)", "<= 30"),
        ("ratio_2000_vs_1000", "build --all: 2,000 / 1,000 operations (linear ~2)", "<= 2.5"),
    ],
}


def external(quick: bool) -> list[dict[str, Any]]:
    """The figures of the ``bench_*.py`` modules, as rows (their min is what they report)."""
    import importlib

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    rows = []
    for module, figures in EXTERNAL.items():
        measured = importlib.import_module(module).measure(quick)
        for key, figure, target in figures:
            if key in measured:
                value = round(float(measured[key]), 3)
                rows.append(
                    {"figure": figure, "ratio_min": value, "ratio_median": value, "target": target}
                )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: proves it runs")
    parser.add_argument("--json", dest="json_file", help="also write the results here")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of the overhead case and stop"
    )
    parser.add_argument("--memory-child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(f"{_memory_child(args.memory_child[0], int(args.memory_child[1])):.3f}")
        return 0
    if args.profile:
        profile_overhead()
        return 0
    rows: list[dict[str, Any]] = overhead(args.quick)
    from rtk_task.emulator import emulator_process

    with emulator_process(TOKEN) as base_url:  # its own process: its own GIL, as a real server
        rows += loopback(args.quick, base_url)
        rows += async_throughput(args.quick, base_url)
    rows += [cold_start(args.quick), manifest_build(args.quick), memory(args.quick)]
    rows.append(memory_async(args.quick))
    rows += external(args.quick)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"rtk-task benchmarks ({'quick' if args.quick else 'full'}; {machine})")
    print(f"{'figure':66} {'min':>8} {'median':>8}  target")
    for row in rows:
        print(f"{row['figure']:66} {row['ratio_min']:>8} {row['ratio_median']:>8}  {row['target']}")
    if args.json_file:
        Path(args.json_file).write_text(
            json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
