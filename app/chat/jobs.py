"""The chat job: warn about retros at risk, the weekly digest, and send what is due."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.chat import service
from app.chat.delivery import chat_channels, deliver
from config import Settings


def chat_job(session: Session, *, settings: Settings) -> dict[str, Any]:
    """Queue the deadline warnings and the week's digest that are due, then send every due message."""
    if not chat_channels(settings):
        return {"skipped": "chat is off"}
    at_risk = service.queue_at_risk(session, settings=settings)
    digest = service.queue_digest(session, settings=settings)
    run = deliver(session, settings=settings)
    return {"at_risk": len(at_risk), "digests": len(digest)} | run.as_dict()
