"""Publishing the document to its one Confluence page; the outcome is recorded on the retro."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

import exporters
from app.auth.models import User
from app.core.errors import Conflict, NotFound, OutsideFailure, RuleViolation
from app.db import call_outside, utcnow
from app.documents.models import DocumentPublication
from app.documents.service.export import document_meta
from app.documents.service.generation import document_view
from app.incidents.models import Incident, Visibility
from app.retros.models import RetroStatus, Retrospective
from app.retros.service import get_retrospective
from config import Settings
from integrations.confluence import ConfluenceClient, ConfluenceConfig, ConfluenceError
from integrations.off import say_off_once

log = logging.getLogger(__name__)

# A publish claimed longer ago than this was cut short (its process died): it may be claimed again.
PUBLISH_CLAIM = timedelta(minutes=5)


class PublishFailed(OutsideFailure):
    """Confluence failed while the request waited; the failure is recorded on the retro."""


def confluence_client(settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> ConfluenceClient | None:
    """A client for the configured Confluence, or None when publishing is off (logged once)."""
    c = settings.confluence
    if not c.enabled:
        say_off_once(log, "confluence", "Confluence publishing is off: set confluence.url and confluence.space to turn it on")
        return None
    return ConfluenceClient(
        ConfluenceConfig(
            url=c.url, space=c.space, user=c.user, token=c.token, parent_id=c.parent_id,
            timeout_seconds=c.timeout_seconds, max_retry_after_seconds=c.max_retry_after_seconds,
            rate_limit_retries=c.rate_limit_retries,
        ),
        sleep=sleep,
    )


def page_title(retro: Retrospective) -> str:
    """The Confluence page title: unique per retro, so a lost answer is found again by title."""
    return exporters.clean_text(f"Retrospective #{retro.id}: {' '.join(retro.incident.title.split())}")[:255]


def publish_to_confluence(
    session: Session, *, viewer: User | None, retro_id: int, settings: Settings,
    client: ConfluenceClient | None = None,
) -> DocumentPublication:
    """Publish the document to its one Confluence page: created the first time, updated in place later.

    Raises RuleViolation when Confluence is not configured, and PublishFailed (502,
    503 or 504) when Confluence fails; the failure is recorded on the publication,
    and the caller commits it. The document itself is never touched.
    """
    if viewer is None:
        retro = session.get(Retrospective, retro_id)
        if retro is None:
            raise NotFound(f"Retrospective {retro_id} does not exist.")
    else:
        retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    if retro.incident.is_private and not settings.confluence.publish_private:
        # A Confluence space is read by more people than a private incident's team.
        raise RuleViolation(
            "This incident is private: its retro is not published to Confluence "
            "(set confluence.publish_private to allow it, with page restrictions of your own).",
            code="private_not_published",
        )
    client = client or confluence_client(settings)
    if client is None:
        raise RuleViolation(
            "Publishing to Confluence is off: set HINDSIGHT_CONFLUENCE_URL and HINDSIGHT_CONFLUENCE_SPACE.",
            code="confluence_not_configured",
        )
    # Claim the publication in a short transaction: the row lock (PostgreSQL; SQLite serialises
    # writers) is held only while the claim is written, never during the call to Confluence.
    session.execute(select(Retrospective.id).where(Retrospective.id == retro.id).with_for_update())
    publication = session.scalar(
        select(DocumentPublication).where(
            DocumentPublication.retrospective_id == retro.id, DocumentPublication.target == "confluence"
        ).execution_options(populate_existing=True)
    )
    now = utcnow()
    if publication is None:
        publication = DocumentPublication(retrospective_id=retro.id, target="confluence", status="pending", attempts=0)
        session.add(publication)
    elif publication.status == "publishing" and not _claim_expired(publication, now):
        raise Conflict(
            "This retro is being published to Confluence right now; wait a minute, then reload to see the result.",
            code="publish_in_progress",
        )
    view = document_view(session, retro=retro, settings=settings)
    storage = exporters.to_confluence(exporters.parse(view.markdown), document_meta(view, settings))
    title = page_title(retro)
    page_id = publication.page_id
    publication.status = "publishing"
    publication.attempts += 1
    publication.last_attempt_at = now
    session.flush()
    try:
        page = call_outside(session, lambda: client.publish(title, storage, page_id=page_id))
    except ConfluenceError as exc:
        publication.status = "failed"
        publication.last_error = exc.message[:2000]
        session.flush()
        code = {503: "confluence_unavailable", 504: "confluence_timeout"}.get(exc.status, "confluence_failed")
        extra: dict[str, Any] = {"publication": {"status": "failed", "attempts": publication.attempts,
                                                 "page_id": publication.page_id}}
        if exc.retry_after is not None:
            extra["retry_after"] = exc.retry_after
        raise PublishFailed(
            f"Publishing to Confluence failed: {exc.message} The document is saved; publish again later.",
            code=code, status=exc.status, extra=extra,
        ) from exc
    publication.status = "published"
    publication.page_id = page.id
    publication.page_version = page.version
    publication.url = page.url
    publication.title = page.title
    publication.last_error = None
    publication.published_at = utcnow()
    publication.published_by_id = viewer.person_id if viewer is not None else publication.published_by_id
    if retro.status == RetroStatus.COMPLETED:
        retro.status = RetroStatus.PUBLISHED
    session.flush()
    return publication


def _claim_expired(publication: DocumentPublication, now: datetime) -> bool:
    started = publication.last_attempt_at
    return started is None or now - started > PUBLISH_CLAIM


def failed_publications(session: Session, *, settings: Settings, now: datetime | None = None) -> list[int]:
    """Ids of the retros whose last Confluence publish failed, or died unfinished (for the scheduler to retry).

    Retros of incidents made private since are left out unless private ones may be published.
    """
    stale = (now or utcnow()) - PUBLISH_CLAIM
    query = (
        select(DocumentPublication.retrospective_id)
        .join(Retrospective, Retrospective.id == DocumentPublication.retrospective_id)
        .join(Incident, Incident.id == Retrospective.incident_id)
        .where(
            DocumentPublication.target == "confluence",
            or_(
                DocumentPublication.status == "failed",
                and_(DocumentPublication.status == "publishing", DocumentPublication.last_attempt_at < stale),
            ),
        )
        .order_by(DocumentPublication.last_attempt_at)
    )
    if not settings.confluence.publish_private:
        query = query.where(Incident.visibility == Visibility.PUBLIC)
    return list(session.scalars(query))
