"""Malformed requests get a 400 in RealtimeKit's error envelope, and nothing the emulator
cannot serve back is stored; bad ``--fault`` rules and seeds are our errors, exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rtk_task.emulator import EmulatorServer

from ..helpers import run_cli

AUTH = {"Authorization": "Bearer t", "content-type": "application/json"}
MEETINGS = "/accounts/acc/realtime/kit/app/meetings"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with (
        EmulatorServer(port=0) as srv,
        httpx.Client(base_url=srv.base_url, headers=AUTH, timeout=10) as client,
    ):
        created = client.post(MEETINGS, json={"title": "kept"})
        assert created.status_code == 201, created.text
        yield client


def _control(http: httpx.Client, name: str) -> str:
    """The absolute URL of a control route (they live at the root, not under the API)."""
    return str(http.base_url.copy_with(path=f"/__emulator/{name}"))


def _refused(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == 400
    message: str = body["error"]["message"]
    assert message
    return message


@pytest.mark.parametrize(
    "query",
    [
        "page_no=inf",
        "page_no=nan",
        "page_no=1e400",
        "per_page=-inf",
        "start_time=2024-01-01T00:00:00",
        "start_time=2024-01-01T00:00:00Z&end_time=2024-01-02T10:00:00",
        "start_time=yesterday",
    ],
)
def test_malformed_query_values_are_400s(http: httpx.Client, query: str) -> None:
    _refused(http.get(f"{MEETINGS}?{query}"))


@pytest.mark.parametrize(
    "content",
    [
        b'{"title": NaN}',
        b'{"extra": NaN}',
        b'{"extra": [1, Infinity]}',
        b'{"extra": ' + b"[" * 200 + b"]" * 200 + b"}",
        b'{"extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"title": "\\ud800"}',
        b"[1]",
        b'{"title": ',
    ],
    ids=["nan-title", "nan-extra", "inf-in-list", "deep", "very-deep", "surrogate", "list", "cut"],
)
def test_bodies_that_cannot_be_served_back_are_400s_and_never_stored(
    http: httpx.Client, content: bytes
) -> None:
    before = http.get(MEETINGS).json()["paging"]["total_count"]
    _refused(http.post(MEETINGS, content=content))
    after = http.get(MEETINGS)
    assert after.status_code == 200, after.text
    assert after.json()["paging"]["total_count"] == before


def test_a_zoned_time_filter_still_works(http: httpx.Client) -> None:
    found = http.get(f"{MEETINGS}?start_time=2000-01-01T00:00:00Z")
    assert found.status_code == 200, found.text
    assert found.json()["paging"]["total_count"] >= 1


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_the_clock_refuses_a_nan_or_infinite_advance(http: httpx.Client, value: str) -> None:
    answer = http.post(_control(http, "clock"), content=f'{{"advance": "{value}"}}'.encode())
    assert answer.status_code == 400, answer.text
    assert http.get(MEETINGS).status_code == 200


@pytest.mark.parametrize(
    "rules",
    [b'{"action": "nope"}', b'{"match": {"path": "("}}', b"[" * 50_000, b'{"delay": NaN}'],
)
def test_bad_fault_rules_over_http_are_400s(http: httpx.Client, rules: bytes) -> None:
    _refused(http.post(_control(http, "faults"), content=rules))


@pytest.mark.parametrize(
    ("rule", "names"),
    [
        ('{"action": "nope"}', "action"),
        ('{"match": {"path": "("}}', "match.path"),
        ('{"times": 0}', "times"),
        ("[1]", "rule"),
        ('{"delay": NaN}', "NaN"),
        ("[" * 5000, "--fault"),
    ],
)
def test_a_bad_fault_rule_is_refused_before_starting(rule: str, names: str) -> None:
    done = run_cli("emulator", "--port", "0", "--fault", rule)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert names in done.stderr
    assert "hint:" in done.stderr


@pytest.mark.parametrize("text", ['{"meetings": [NaN]}', "[" * 5000 + "]" * 5000, "{"])
def test_a_bad_seed_is_refused_before_starting(tmp_path: Path, text: str) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(text, encoding="utf-8")
    done = run_cli("emulator", "--port", "0", "--seed", str(seed))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert str(seed) in done.stderr
