"""rtk-task: a first-class HTTP task for workflow engines, built from API reference docs."""

from __future__ import annotations

__version__ = "0.1.0"
