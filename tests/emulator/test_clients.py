"""Other clients against the emulator: the official SDK, the CLI command, schemathesis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rtk_task.emulator import EmulatorServer
from rtk_task.manifests.registry import sources_dir

TOKEN = "emu-token-3"


def test_the_official_sdk_creates_and_reads_a_meeting() -> None:
    from cloudflare import Cloudflare

    with EmulatorServer(port=0, token=TOKEN) as server:
        sdk = Cloudflare(api_token=TOKEN, base_url=server.base_url, max_retries=0)
        created = sdk.realtime_kit.meetings.create(
            account_id="acc", app_id="app", title="SDK", record_on_start=True
        )
        assert created.data is not None
        meeting_id = created.data.id
        got = sdk.realtime_kit.meetings.get_meeting_by_id(
            meeting_id, account_id="acc", app_id="app"
        )
        assert got.data is not None
        assert got.data.title == "SDK"
        assert server.stats()["meetings_created"] == {"acc": 1}


def test_the_cli_prints_the_base_url_first_once_it_accepts_connections() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rtk_task.cli import main; main()",
            "emulator",
            "--port",
            "0",
            "--token",
            TOKEN,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/client/v4")
        r = httpx.get(
            f"{url}/accounts/a/realtimekit/meetings",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert r.status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_schemathesis_finds_no_server_error_schema_break_or_accepted_bad_body(
    tmp_path: Path,
) -> None:
    """The whole RealtimeKit document drives a fuzzer against the emulator (62 operations).

    Checks: no 5xx, every response matches the published schemas, every schema-violating
    request is rejected. Not checked: status_code_conformance and positive_data_acceptance,
    because 43 operations declare no error response at all (the emulator's 400/401/404/409
    answers are undeclared, not wrong), and valid bodies for unknown ids rightly get 404.
    The examples per operation are few, so that it stays about a minute on two busy cores.
    """
    with EmulatorServer(port=0, token=TOKEN) as server:
        meeting = httpx.post(
            f"{server.base_url}/accounts/acc/realtimekit/meetings",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={},
        ).json()
        config = tmp_path / "schemathesis.toml"
        config.write_text(
            "[parameters]\n"
            f'"path.meeting_id" = "{meeting["data"]["id"]}"\n'
            '"path.account_id" = "acc"\n'
            '"path.app_id" = "0123456789abcdef0123456789abcdef"\n'
        )
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "--config-file",
                str(config),
                "run",
                str(sources_dir() / "realtimekit.openapi.json"),
                "--url",
                server.base_url,
                "-H",
                f"Authorization: Bearer {TOKEN}",
                "-n",
                "3",
                "--seed",
                "7",
                "--checks",
                "not_a_server_error,response_schema_conformance,"
                "negative_data_rejection,content_type_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--generation-database",
                "none",
                "--no-color",
                "--workers",
                "1",  # with 2, CPython 3.11's ast.parse in hypothesis can fail across threads
            ],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
            check=False,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        assert server.stats()["requests"], "schemathesis sent nothing"
