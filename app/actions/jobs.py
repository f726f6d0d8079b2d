"""Scheduled jobs of the action-items domain (issue: action items and Jira)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from config import Settings


def jira_sync_job(session: Session, *, settings: Settings) -> dict[str, Any]:
    """One push of the outbox and one reconcile pull; returns the counts. Filled in by the Jira issue."""
    return {"created": 0, "updated": 0, "pulled": 0, "failed": 0}
