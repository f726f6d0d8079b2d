"""Editing the document by section: every version kept, concurrent saves never lost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.db import utcnow
from app.documents import templating
from app.documents.models import DocumentSection, DocumentSectionVersion
from app.documents.service.assembly import section_html
from app.documents.service.catalogue import custom_template
from app.documents.service.generation import DocumentView, document_view, sections_of, write_sections
from app.retros.models import Retrospective, RetroStatus
from app.retros.service import get_retrospective
from config import Settings

# A completed or published retro's document is its record: it changes only after the retro is reopened.
LOCKED_STATUSES = frozenset(RetroStatus.done())


def is_locked(retro: Retrospective) -> bool:
    """Whether the retro's document is read-only (the retro is completed or published)."""
    return retro.status in LOCKED_STATUSES


def _refuse_if_locked(retro: Retrospective) -> None:
    if is_locked(retro):
        raise Conflict(
            f"The retrospective is {retro.status}: its document is read-only until the retro is reopened.",
            code="retro_completed",
        )


def _section(session: Session, retro_id: int, key: str) -> DocumentSection:
    if not templating.SECTION_KEY.match(key):
        raise NotFound(f"The document has no section {key!r}.", fields={"key": "not a section key"})
    section = session.scalar(
        select(DocumentSection).where(DocumentSection.retrospective_id == retro_id, DocumentSection.key == key)
    )
    if section is None:
        raise NotFound(f"The document has no section {key}.", fields={"key": f"no section {key!r}"})
    return section


def section_state(section: DocumentSection) -> dict[str, Any]:
    """A section as plain JSON-ready data (the `current` of a 409)."""
    return {
        "key": section.key, "title": section.title, "body": section.body, "prompt": section.prompt,
        "version": section.version,
        "live": section.live, "updated_at": section.updated_at.isoformat(),
        "updated_by": section.updated_by.email if section.updated_by else None,
    }


def save_section(
    session: Session, *, viewer: User, retro_id: int, key: str, body: str, version: int, title: str | None = None
) -> DocumentSection:
    """Save a new text of a section edited from `version`; every version is kept.

    Raises Conflict (409, `stale_version`) with the current text when someone saved
    since `version`: the check and the write are one UPDATE, so two facilitators
    saving at once can never overwrite each other. Saving the text the section
    already has changes nothing (a retried request is not a conflict). Raises Conflict
    (`retro_completed`) once the retro is completed or published.
    """
    retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    _refuse_if_locked(retro)
    section = _section(session, retro.id, key)
    new_title = title if title is not None else section.title
    if body == section.body and new_title == section.title:
        return section
    if version != section.version:
        raise _stale(section, version)
    result = session.execute(
        update(DocumentSection)
        .where(DocumentSection.id == section.id, DocumentSection.version == version)
        .values(body=body, title=new_title, version=version + 1, updated_at=utcnow(),
                updated_by_id=viewer.person_id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(section)
    if result.rowcount != 1:
        raise _stale(section, version)
    session.add(DocumentSectionVersion(
        section_id=section.id, version=section.version, title=section.title, body=section.body,
        created_by_id=viewer.person_id,
    ))
    session.flush()
    return section


def _stale(section: DocumentSection, version: int) -> Conflict:
    return Conflict(
        f"Section {section.key} was saved by someone else since version {version}; it is at version "
        f"{section.version} now. Merge your text into the current one and save again with that version.",
        code="stale_version", fields={"version": f"is stale: the section is at version {section.version}"},
        extra={"current": section_state(section)},
    )


def preview_section(session: Session, *, viewer: User, retro_id: int, body: str) -> str:
    """A section's Markdown as HTML, exactly as the HTML export prints it, for a retro the viewer may see."""
    get_retrospective(session, viewer=viewer, retro_id=retro_id)
    return section_html(body)


def section_history(session: Session, *, viewer: User, retro_id: int, key: str) -> tuple[DocumentSection, list[DocumentSectionVersion]]:
    """Every saved version of a section, newest first."""
    retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    section = _section(session, retro.id, key)
    versions = list(session.scalars(
        select(DocumentSectionVersion).where(DocumentSectionVersion.section_id == section.id)
        .order_by(DocumentSectionVersion.version.desc())
    ))
    return section, versions


def choose_template(session: Session, *, viewer: User, retro_id: int, template: str, settings: Settings) -> DocumentView:
    """Regenerate the document from another template, while nobody has edited it yet.

    Raises Conflict (`document_edited`) once any section has a saved edit: nothing
    written by people is ever thrown away; Conflict (`retro_completed`) once the retro
    is completed or published.
    """
    retro = get_retrospective(session, viewer=viewer, retro_id=retro_id)
    _refuse_if_locked(retro)
    if template not in templating.BUILTIN_TEMPLATES and custom_template(session, template) is None:
        raise ValidationFailed(f"There is no template named {template}.", fields={"template": "unknown template"})
    sections = sections_of(session, retro.id)
    edited = [s.key for s in sections if s.version > 1]
    if edited:
        raise Conflict(
            f"The document has edits ({', '.join(edited)}); the template can only change before anyone edits it.",
            code="document_edited",
        )
    for section in sections:
        session.delete(section)
    session.flush()
    retro.template = template
    write_sections(session, retro=retro, settings=settings)
    return document_view(session, retro=retro, settings=settings)
