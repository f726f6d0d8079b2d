"""The APScheduler set-up (issue: scheduled jobs)."""

from __future__ import annotations

from typing import Any

from config import Settings


def gunicorn_hooks(settings: Settings) -> dict[str, Any]:
    """gunicorn settings that start the scheduler once, in the master. Filled in by the jobs issue."""
    return {}
