"""A local, in-memory RealtimeKit API for demos and tests (loopback only).

It follows the shipped OpenAPI fragment for create, list (paging), get, update and replace
meeting, add participant and refresh a token, on the live and legacy paths, with the real
API's envelopes, Bearer check and validation, and injectable faults.
"""

from __future__ import annotations

from .app import Emulator, create_app
from .faults import FaultRule
from .process import emulator_process
from .server import EmulatorServer, run_emulator

__all__ = [
    "Emulator",
    "EmulatorServer",
    "FaultRule",
    "create_app",
    "emulator_process",
    "run_emulator",
]
