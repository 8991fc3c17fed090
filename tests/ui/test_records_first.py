"""The playground's Test request writes its record before the request leaves (issue 23):
the server, on receiving it, finds the record on disk saying "sent, outcome unknown"; a
record that cannot be written sends nothing and says why."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from rtk_task.ui.service import Playground

from ..rawserver import RawServer

GET = {
    "task": "realtimekit.meetings.get",
    "step_id": "get_meeting",
    "with": {"account_id": "acc", "meeting_id": "m-1"},
}
MEETING = b'{"success": true, "data": {"id": "m-1", "title": "t"}}'


def test_test_request_is_on_record_before_it_is_sent(tmp_path: Path) -> None:
    seen_on_disk: list[list[dict[str, Any]]] = []

    def behaviour(conn: socket.socket, _: bytes) -> None:
        records = sorted((tmp_path / ".rtk-task" / "runs").glob("*.json"))
        seen_on_disk.append([json.loads(p.read_text()) for p in records])
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (len(MEETING), MEETING)
        )

    with RawServer(behaviour) as server:
        playground = Playground(base_url=server.base_url, live=True, records_root=tmp_path)
        answer = playground.test(GET)
    assert answer["sent"] is True, answer
    ((in_flight,),) = seen_on_disk
    assert in_flight["state"] == "running"
    assert in_flight["steps"]["get_meeting"]["error"]["kind"] == "ambiguous"
    final = json.loads(Path(answer["record"]).read_text())
    assert final["state"] == "finished"
    assert final["steps"]["get_meeting"]["ok"] is True


def test_a_record_that_cannot_be_written_sends_nothing(tmp_path: Path) -> None:
    (tmp_path / ".rtk-task").write_text("a file where the records folder goes")
    with RawServer(lambda conn, _: None) as server:
        playground = Playground(base_url=server.base_url, live=True, records_root=tmp_path)
        answer = playground.test(GET)
        sent = list(server.requests)
    assert answer["sent"] is False
    assert sent == []
    assert "records folder" in answer["problems"][0]["message"]
