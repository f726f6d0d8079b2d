"""The auth domain's scheduled job: prune the audit log past its retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.auth import audit
from app.db import utcnow
from config import Settings

# Pruning a day's lines is cheap; once an hour keeps the log within an hour of its retention.
PRUNE_SECONDS = 3600.0


def audit_prune_job(session: Session, *, settings: Settings) -> dict[str, Any]:
    """Delete the audit lines older than `audit.retention_days`."""
    before = utcnow() - timedelta(days=settings.audit.retention_days)
    return {"pruned": audit.prune(session, before=before)}
