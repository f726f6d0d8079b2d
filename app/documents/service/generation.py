"""Generating a retro's document from its template, and reading it as assembled now."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.db import utcnow
from app.documents import templating
from app.documents.models import DocumentPublication, DocumentSection, DocumentSectionVersion
from app.documents.service.assembly import DOCUMENT_TITLE, compose_markdown, live_markdown
from app.documents.service.catalogue import custom_template, render_template
from app.documents.service.context import template_context
from app.retros.models import Retrospective
from app.retros.service import get_retrospective
from config import Settings

log = logging.getLogger(__name__)


def sections_of(session: Session, retro_id: int) -> list[DocumentSection]:
    """The retro's document sections, in order."""
    return list(session.scalars(
        select(DocumentSection).where(DocumentSection.retrospective_id == retro_id).order_by(DocumentSection.position)
    ))


def write_sections(session: Session, *, retro: Retrospective, settings: Settings) -> None:
    """Render the retro's template (standard if it is unknown) into new sections, each at version 1."""
    name = retro.template
    if name not in templating.BUILTIN_TEMPLATES and custom_template(session, name) is None:
        log.warning("retro %s asks for unknown template %r; using standard", retro.id, name)
        name = retro.template = "standard"
    rendered = render_template(
        session, name=name, context=template_context(session, retro=retro, settings=settings), settings=settings,
    )
    # One INSERT for the sections and one for their first versions, however many sections the template has:
    # a resolution books the retro and writes its document in the same request.
    now = utcnow()
    session.execute(insert(DocumentSection), [
        {"retrospective_id": retro.id, "key": item.key, "title": item.title[:200], "body": item.body,
         "prompt": item.prompt, "position": position, "version": 1, "updated_at": now}
        for position, item in enumerate(rendered)
    ])
    first_versions = select(
        DocumentSection.id, DocumentSection.version, DocumentSection.title, DocumentSection.body,
        DocumentSection.updated_at,
    ).where(DocumentSection.retrospective_id == retro.id)
    session.execute(insert(DocumentSectionVersion).from_select(
        ["section_id", "version", "title", "body", "created_at"], first_versions,
    ))


def prepare_document(session: Session, *, retro: Retrospective, settings: Settings) -> None:
    """Generate the retro's document from its template, once; a retro that has one keeps it."""
    exists = session.scalar(select(DocumentSection.id).where(DocumentSection.retrospective_id == retro.id).limit(1))
    if exists is None:
        write_sections(session, retro=retro, settings=settings)


@dataclass(frozen=True)
class DocumentView:
    """A retro's document as assembled now."""

    retro: Retrospective
    sections: list[DocumentSection]
    markdown: str
    publications: dict[str, DocumentPublication | None]
    # The live sections' tables as Markdown, by key (also inside `markdown`).
    live: dict[str, str]

    @property
    def title(self) -> str:
        return document_title(self.retro)


def document_title(retro: Retrospective) -> str:
    return DOCUMENT_TITLE.format(retro.incident.title)


def get_document(session: Session, *, viewer: User, retro_id: int, settings: Settings) -> DocumentView:
    """The document of a retro the viewer may see (NotFound otherwise), live sections rendered now."""
    retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    return document_view(session, retro=retro, settings=settings)


def document_view(session: Session, *, retro: Retrospective, settings: Settings) -> DocumentView:
    sections = sections_of(session, retro.id)
    publication = session.scalar(
        select(DocumentPublication).where(
            DocumentPublication.retrospective_id == retro.id, DocumentPublication.target == "confluence"
        )
    )
    live = live_markdown(session, retro=retro, sections=sections, settings=settings)
    markdown = compose_markdown(
        incident_title=retro.incident.title, sections=[(s.key, s.title, s.body) for s in sections], live=live,
    )
    return DocumentView(retro=retro, sections=sections, markdown=markdown, publications={"confluence": publication},
                        live=live)
