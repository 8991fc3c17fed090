"""``--curl`` text runs as printed: the shell reads the token and each secret from its
environment variable, so no secret value is ever in the text."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from pydantic import SecretStr

from rtk_task.manifests.registry import load_task
from rtk_task.request import build_request
from rtk_task.secrets import Redactor

from ..helpers import CANARY

#: A secret that JSON leaves as it is, but that a shell would run if it were not quoted.
SECRET = "s3cr'et key $(touch /tmp/rtk-pwned) `id` ok"
#: A secret that JSON escapes: its body form cannot be a shell variable, so it is masked.
ESCAPED = 's3cret "quoted" \\ key'


def _curl_text(base_url: str, secret_env: dict[str, str] | None, secret: str = SECRET) -> str:
    manifest = load_task("realtimekit.meetings.create")
    request = build_request(
        manifest,
        {"account_id": "acc", "title": f"sync {secret}"},
        base_url=base_url,
        token=SecretStr(CANARY),
    )
    return request.curl(Redactor([CANARY, secret]), secret_env)


def test_the_text_holds_no_secret_and_names_the_variables() -> None:
    text = _curl_text("http://127.0.0.1:9/client/v4", {SECRET: "STORAGE_KEY"})
    assert CANARY not in text
    assert SECRET not in text
    assert '"$STORAGE_KEY"' in text
    assert '"$CLOUDFLARE_API_TOKEN"' in text


def test_a_secret_that_json_escapes_is_masked_in_the_body_in_every_form() -> None:
    text = _curl_text("http://127.0.0.1:9/client/v4", {ESCAPED: "STORAGE_KEY"}, ESCAPED)
    assert ESCAPED not in text
    assert json.dumps(ESCAPED)[1:-1] not in text
    assert "***" in text


def test_a_variable_name_that_is_not_a_name_is_never_put_in_the_text() -> None:
    text = _curl_text("http://127.0.0.1:9/client/v4", {SECRET: "X$(id)"})
    assert "$(id)" not in text
    assert SECRET not in text  # masked instead


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
def test_the_printed_command_creates_the_meeting_with_the_secret_filled_in(
    emulator: Any,
) -> None:
    text = _curl_text(emulator.base_url, {SECRET: "STORAGE_KEY"})
    done = subprocess.run(
        ["bash", "-c", text],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", "CLOUDFLARE_API_TOKEN": CANARY, "STORAGE_KEY": SECRET},
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["data"]["title"] == f"sync {SECRET}"
    assert SECRET not in text
