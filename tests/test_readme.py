"""The README works as written: every shell line of it runs, in order, in a fresh folder, and
exits as it says (0 unless a `# exit N` comment says otherwise); the Python block runs; the
example workflow shown is the shipped one; every other workflow shown passes `rtk-task check`.

Only the two set-up commands are left out (they make a venv: the suite runs inside one).
The emulator the README starts on port 8787 is started on a free port instead (the port is
replaced everywhere), and servers started with `&` are stopped at the end.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import OUTPUTS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLE = ROOT / "rtk_task" / "examples" / "onboard-call.yaml"
CLI = (sys.executable, "-c", "from rtk_task.cli import main; main()")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README.read_text("utf-8")) if lang == language]


def _commands(text: str) -> list[str]:
    """Shell lines with their continuations joined; comment-only lines dropped."""
    out: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(line)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _script(port: int, prism_port: int = 4010) -> str:
    """Every README shell line, each followed by a check of its exit code."""
    lines = ['cd "$WORK"']
    for n, command in enumerate(c for block in _blocks("bash") for c in _commands(block)):
        if command.startswith("python3 -m venv"):
            continue  # the set-up commands
        command = command.replace("8787", str(port)).replace("4010", str(prism_port))
        expected = re.search(r"#\s*exit (\d+)", command)
        if re.search(r"&\s*(#.*)?$", command):  # a server, started in the background
            lines.append(command)
            if "rtk-task emulator" in command:  # wait until it answers, at most 30 s
                lines.append(
                    f"for i in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null"
                    " && break; sleep 0.1; done"
                )
            if "prism mock" in command:  # Prism starts in seconds; at most 120 s
                lines.append(
                    f"for i in $(seq 1200); do (exec 3<>/dev/tcp/127.0.0.1/{prism_port})"
                    " 2>/dev/null && break; sleep 0.1; done"
                )
            continue
        lines += [
            command,
            f"rc=$?; if [ $rc -ne {expected.group(1) if expected else 0} ]; then "
            f"echo 'README command {n} exited '$rc': {command[:80]}' >&2; "
            "kill $(jobs -p) 2>/dev/null; exit 99; fi",
        ]
    lines.append("kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; exit 0")
    return "\n".join(lines) + "\n"


def test_the_example_shown_is_the_shipped_example() -> None:
    assert EXAMPLE.read_text("utf-8") in _blocks("yaml")


@pytest.mark.parametrize("index", range(len(_blocks("yaml"))))
def test_every_workflow_shown_passes_the_check(index: int, tmp_path: Path) -> None:
    file = tmp_path / "wf.yaml"
    file.write_text(_blocks("yaml")[index])
    done = subprocess.run(
        [*CLI, "check", str(file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_shell_line_and_the_python_block_run_as_written(
    tmp_path: Path, prefect_api: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("rtk_task", "tests", "task_manifests"):  # paths the README names
        (work / name).symlink_to(ROOT / name)
    port = _free_port()
    env = {
        **os.environ,
        "WORK": str(work),
        "NO_COLOR": "1",
        "PREFECT_API_URL": prefect_api,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("RTK_BASE_URL", None)
    # its own process group: the servers it starts are stopped with it, even on a timeout
    with subprocess.Popen(
        ["bash", "-c", _script(port, _free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as shell:
        try:
            out, err = shell.communicate(timeout=800)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGKILL)
    OUTPUTS.append((("README shell",), out + err))
    assert shell.returncode == 0, err[-3000:]
    (python,) = _blocks("python")
    env.update(CLOUDFLARE_API_TOKEN="anything", RTK_BASE_URL=f"http://127.0.0.1:{port}/client/v4")
    with subprocess.Popen(
        [*CLI, "emulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=work,
    ) as emulator:
        try:
            assert emulator.stdout is not None
            assert emulator.stdout.readline().startswith("http://127.0.0.1")  # it is up
            ran = subprocess.run(
                [sys.executable, "-c", python.replace("8787", str(port))],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
                cwd=work,
                check=False,
            )
        finally:
            emulator.terminate()
    OUTPUTS.append((("README python",), ran.stdout + ran.stderr))
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.startswith("True ")
