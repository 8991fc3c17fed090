"""Secrets in every form stay masked: CR/LF-ended tokens, base64, cut text, escapes, UTF-16,
and the same on every CLI path (``test`` and ``run``)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from rtk_task import Client
from rtk_task.secrets import MASK, Redactor, read_env

from ..helpers import CANARY, run_cli

SECRET = "wf-secret-9f8e7d6c5b4a"
CREATE = "realtimekit.meetings.create"
INPUTS = {"account_id": "acc", "title": "t"}


def _answer(content: bytes, content_type: str, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, content=content, headers={"content-type": content_type})

    return httpx.MockTransport(handler)


def _call(content: bytes, content_type: str) -> str:
    """The result of a create answered with ``content``, as the JSON a user would see."""
    seen: list[httpx.Request] = []
    with Client(base_url="http://api.test", transport=_answer(content, content_type, seen)) as c:
        result = c.call(CREATE, dict(INPUTS), secrets=[SECRET])
    assert seen, "the call was not sent"
    return json.dumps(result.model_dump(mode="json"), ensure_ascii=False)


@pytest.mark.parametrize("ending", ["\r\n", "\r", "\n", "\r\n\r\n"])
def test_a_token_with_windows_line_ends_is_stripped_before_use(
    monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CANARY + ending)
    assert read_env("CLOUDFLARE_API_TOKEN") == CANARY
    seen: list[httpx.Request] = []
    body = json.dumps({"success": True, "result": {"id": "m1"}}).encode()
    transport = _answer(body, "application/json", seen)
    with Client(base_url="http://api.test", transport=transport) as client:
        result = client.call(CREATE, dict(INPUTS))
    assert result.ok, result.error
    assert seen[0].headers["authorization"] == f"Bearer {CANARY}"


def test_a_token_with_a_line_break_inside_is_a_config_error_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CANARY + "\r\nX-Injected: 1")
    seen: list[httpx.Request] = []
    with Client(base_url="http://api.test", transport=_answer(b"", "", seen)) as client:
        result = client.call(CREATE, dict(INPUTS))
    assert not seen, "a token with a control character was sent"
    assert result.error is not None
    assert result.error.kind == "config"
    assert not result.sent
    assert CANARY not in json.dumps(result.model_dump(mode="json"))


@pytest.mark.parametrize("user", ["", "u", "us", "use", "a-longer-user"])
def test_base64_of_user_and_secret_in_a_basic_header_is_masked(user: str) -> None:
    redactor = Redactor([SECRET])
    encoded = base64.b64encode(f"{user}:{SECRET}".encode()).decode()
    shown = redactor.text(f"Authorization: Basic {encoded}")
    assert encoded not in shown
    assert MASK in shown
    # what is left shown is the user's part and at most one group mixing in the secret
    left = shown.split()[-1].replace(MASK, "")
    assert len(left) <= len(base64.b64encode(f"{user}:".encode())) + 4, shown


def test_base64_of_the_secret_alone_and_in_the_middle_is_masked() -> None:
    redactor = Redactor([SECRET])
    alone = base64.b64encode(SECRET.encode()).decode()
    middle = base64.b64encode(f"x:{SECRET}:tail-of-it".encode()).decode()
    assert redactor.text(alone) == MASK
    shown = redactor.text(middle)
    assert MASK in shown
    assert SECRET.encode()[3:-3] not in base64.b64decode(
        shown.replace(MASK, "A" * 4)[: len(middle) // 4 * 4]
    )


def test_a_secret_in_a_base64_echo_is_masked_in_the_result() -> None:
    token = base64.b64encode(f"me:{SECRET}".encode()).decode()
    shown = _call(json.dumps({"echo": f"Basic {token}"}).encode(), "application/json")
    assert token not in shown


@pytest.mark.parametrize("at", [2040, 2044, 2046, 2047])
def test_a_secret_cut_at_the_display_limit_does_not_show_its_first_part(at: int) -> None:
    body = ("x" * at + SECRET + "y" * 100).encode()
    shown = _call(body, "application/octet-stream")
    assert SECRET[: min(8, 2048 - at)] not in shown or 2048 - at < 4
    assert SECRET not in shown


def test_a_cut_keeps_ordinary_text_and_masks_only_a_long_enough_prefix() -> None:
    redactor = Redactor([SECRET])
    assert redactor.cut("abc" * 10, 12) == "abcabcabcabc"
    assert redactor.cut("a" * 10 + SECRET[:8] + SECRET[8:], 18) == "a" * 10 + MASK
    # a text that ends (at the cut) with the start of a secret: 2 characters are too few to
    # matter and stay; 9 are masked
    assert redactor.cut("a" * 10 + SECRET[:2] + "zzz", 12) == "a" * 10 + SECRET[:2]
    assert redactor.cut("a" * 10 + SECRET[:9] + "zzz", 19) == "a" * 10 + MASK


def test_a_secret_cut_in_a_malformed_json_body_is_masked() -> None:
    body = ('{"a": "' + "x" * 2040 + SECRET + '", broken').encode()
    shown = _call(body, "application/json")
    assert SECRET[:8] not in shown


def test_a_secret_echoed_with_unicode_escapes_is_masked() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in SECRET)
    body = ('{"success": true, "result": {"id": "m1", "echo": "' + escaped + '"}}').encode()
    shown = _call(body, "application/json")
    assert SECRET not in shown
    assert escaped not in shown


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_a_secret_echoed_in_utf16_json_is_masked(codec: str) -> None:
    body = json.dumps({"success": True, "result": {"id": "m1", "echo": SECRET}}).encode(codec)
    shown = _call(body, "application/json")
    assert SECRET not in shown


TEMPLATE_LEAK = """\
name: leaky
secrets:
  store: RTK_MASKING_SECRET
steps:
  - id: create
    task: realtimekit.meetings.create
    with:
      account_id: acc
      title: "{{ secrets[secrets.store] }}"
"""


@pytest.mark.parametrize("command", ["test", "run"])
def test_a_template_error_naming_a_secret_is_masked_by_test_and_run(
    tmp_path: Path, command: str
) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(TEMPLATE_LEAK)
    args = ["test", str(wf), "--step", "create"] if command == "test" else ["run", str(wf)]
    for extra in ([], ["--json"]):
        done = run_cli(
            *args,
            *extra,
            "--base-url",
            "http://127.0.0.1:9",
            cwd=tmp_path,
            env={"RTK_MASKING_SECRET": SECRET + "\r\n"},
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert "undefined" in done.stdout + done.stderr
        assert SECRET not in done.stdout + done.stderr, f"{command} {extra} showed the secret"
    for record in tmp_path.glob(".rtk-task/runs/*.json"):
        assert SECRET not in record.read_text()
