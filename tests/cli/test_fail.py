"""An error that escapes a command is masked on the way out: any credential variable's value
in it is shown as ***, whichever command raised it."""

from __future__ import annotations

import pytest

from rtk_task import ConfigError, Problem, TaskResult
from rtk_task.cli._common import fail


def test_fail_masks_every_credential_variable_in_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORAGE_KEY", "storage-key-value-42")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "svc-token-value-43")
    error = ConfigError(
        Problem("--base-url", "bad URL http://x/storage-key-value-42", "not svc-token-value-43")
    )
    with pytest.raises(SystemExit) as done:
        fail(error)
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert "storage-key-value-42" not in err
    assert "svc-token-value-43" not in err
    assert err.count("***") == 2


def test_a_result_that_got_an_answer_was_sent_whatever_its_error_kind() -> None:
    failed_after = TaskResult.model_validate(
        {
            "ok": False,
            "task": "t.x",
            "status_code": 201,
            "attempts": 1,
            "error": {"kind": "template", "message": "output template failed"},
        }
    )
    not_sent = TaskResult.model_validate(
        {"ok": False, "task": "t.x", "error": {"kind": "template", "message": "bad"}}
    )
    assert failed_after.sent
    assert not not_sent.sent
