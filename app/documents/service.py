"""Retro documents: generated from a template when the retro is booked (issue: documents)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.retros.models import Retrospective
from config import Settings


def prepare_document(session: Session, *, retro: Retrospective, settings: Settings) -> None:
    """Generate the retro's document from its template. Filled in by the documents issue."""
