"""A local, in-memory RealtimeKit API for demos and tests (loopback only).

It serves every operation of the shipped RealtimeKit OpenAPI document (62), on the live and
legacy paths, with the real API's envelopes, Bearer check and request validation, answers
fitted to the document's response schemas, state for apps, presets, meetings, participants,
webhooks (called on loopback), recordings (states on a drivable clock), livestreams and live
sessions, reports derived from them (sessions, chat, summaries, analytics) or seeded, and
injectable faults.
"""

from __future__ import annotations

from .app import Emulator, create_app
from .faults import FaultRule
from .process import emulator_process
from .server import EmulatorServer, run_emulator

#: The provider whose API the emulator answers as (its credentials are the ones it takes).
EMULATED_PROVIDER = "realtimekit"

__all__ = [
    "EMULATED_PROVIDER",
    "Emulator",
    "EmulatorServer",
    "FaultRule",
    "create_app",
    "emulator_process",
    "run_emulator",
]
