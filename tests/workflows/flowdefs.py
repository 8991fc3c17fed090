"""A workflow that uses every kind of flow control, shared by the flow and engine tests."""

from __future__ import annotations

ONBOARD = """
name: onboard-call
inputs:
  account_id: {type: string}
  people: {type: array}
rate_limit: {requests: 100, per: 1}
steps:
  - id: meeting
    task: realtimekit.meetings.create
    with: {account_id: "{{ inputs.account_id }}", title: "All hands"}
  - id: add
    task: realtimekit.meetings.participants.add
    for_each: "{{ inputs.people }}"
    concurrency: 8
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.meeting.outputs.meeting_id }}"
      custom_participant_id: "p-{{ index }}-{{ item }}"
      name: "{{ item }}"
      preset_name: group_call_host
  - id: record
    task: realtimekit.recordings.start
    with:
      account_id: "{{ inputs.account_id }}"
      meeting_id: "{{ steps.meeting.outputs.meeting_id }}"
    depends_on: [add]
  - id: stop
    task: realtimekit.recordings.pause_resume_stop
    with:
      account_id: "{{ inputs.account_id }}"
      # the emulator's legacy stop path wants an app id: the live path is used
      app_id: 0123456789abcdef0123456789abcdef
      recording_id: "{{ steps.record.outputs.recording_id }}"
      action: stop
  - id: uploaded
    task: realtimekit.recordings.get
    with:
      account_id: "{{ inputs.account_id }}"
      recording_id: "{{ steps.record.outputs.recording_id }}"
    depends_on: [stop]
    until:
      condition: "{{ response.body.data.status == 'UPLOADED' }}"
      interval: 0.2
      timeout: TIMEOUT
outputs:
  meeting_id: "{{ steps.meeting.outputs.meeting_id }}"
  participant_ids: "{{ steps.add.outputs.participant_id }}"
  names: "{{ steps.add.outputs.name }}"
  recording_status: "{{ steps.uploaded.outputs.status }}"
"""


def onboard(timeout: float = 20) -> str:
    """The workflow text, with the ``until`` timeout given."""
    return ONBOARD.replace("TIMEOUT", f"{timeout:g}")
