"""Scheduled jobs of the documents domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.documents.service import PublishFailed, confluence_client, failed_publications, publish_to_confluence
from config import Settings

BATCH = 20


def republish_job(session: Session, *, settings: Settings) -> dict[str, Any]:
    """Publish again the retros whose last Confluence publish failed; each outcome is recorded on the retro.

    Stops at the first failure of a tick: Confluence is likely still down or limiting us.
    """
    client = confluence_client(settings)
    if client is None:
        return {"skipped": "confluence is not configured"}
    published = failed = 0
    for retro_id in failed_publications(session, settings=settings)[:BATCH]:
        try:
            publish_to_confluence(session, viewer=None, retro_id=retro_id, settings=settings, client=client)
        except PublishFailed:
            failed += 1  # already recorded on the publication row, committed with the job
            break
        published += 1
    return {"published": published, "failed": failed}
