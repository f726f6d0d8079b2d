"""Scheduled jobs of the action-items domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.actions.sync import run_sync, session_factory_for
from config import Settings


def jira_sync_job(session: Session, *, settings: Settings) -> dict[str, Any]:
    """One push of the due outbox rows and one reconcile pull; returns {created, updated, pulled, failed, adopted}.

    Safe in several processes at once: outbox rows are claimed with SKIP LOCKED and a lease.
    Works in short transactions of its own on `session`'s database, so a Jira call never holds
    the job's transaction open.
    """
    return run_sync(session_factory_for(session), settings=settings, force=False).as_dict()
