"""Reminders, nudges and invitations (issue: scheduled jobs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.retros.models import Retrospective
from config import Settings


def retro_schedule_changed(
    session: Session, *, retro: Retrospective, previous: datetime | None, settings: Settings
) -> None:
    """Queue the invitation, update or cancellation. Filled in by the scheduled-jobs issue."""
