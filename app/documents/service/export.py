"""The document as a file: Markdown, HTML, DOCX or Confluence storage format."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

import exporters
from app.auth.models import User
from app.core.errors import ValidationFailed
from app.documents.service.generation import DocumentView, get_document
from config import Settings

CONTENT_TYPES = {
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "docx": (exporters.DOCX_CONTENT_TYPE, "docx"),
    # A storage-format fragment (several roots, undeclared ac: prefixes): text, not an XML document.
    "confluence": ("text/plain; charset=utf-8", "confluence.xml"),
}
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    data: bytes


def document_meta(view: DocumentView, settings: Settings) -> exporters.DocumentMeta:
    """The plain metadata the exporters need besides the Markdown."""
    retro, incident = view.retro, view.retro.incident
    author = retro.facilitator.name if retro.facilitator else (incident.commander.name if incident.commander else "")
    return exporters.DocumentMeta(
        title=view.title,
        author=author,
        subject=f"{incident.severity} incident #{incident.id}: {incident.title}",
        keywords=("retrospective", incident.severity, f"incident-{incident.id}"),
        created=retro.created_at,
        description=f"Retrospective of incident #{incident.id} ({incident.severity}), exported by Hindsight.",
    )


def render_export(view: DocumentView, fmt: str, settings: Settings) -> bytes:
    """The assembled document in one format, from one parse of its Markdown."""
    parsed = exporters.parse(view.markdown)
    meta = document_meta(view, settings)
    if fmt == "markdown":
        return exporters.to_markdown(parsed).encode("utf-8")
    if fmt == "html":
        return exporters.to_html(parsed, meta).encode("utf-8")
    if fmt == "docx":
        return exporters.to_docx(parsed, meta)
    if fmt == "confluence":
        return exporters.to_confluence(parsed, meta).encode("utf-8")
    raise ValidationFailed(f"Unknown export format {fmt}.", fields={"format": "must be markdown, docx, html or confluence"})


def export_document(session: Session, *, viewer: User, retro_id: int, fmt: str, settings: Settings) -> ExportFile:
    """The document as a file in `fmt` (markdown, html, docx, confluence)."""
    if fmt not in CONTENT_TYPES:
        raise ValidationFailed(f"Unknown export format {fmt}.", fields={"format": "must be markdown, docx, html or confluence"})
    view = get_document(session, viewer=viewer, retro_id=retro_id, settings=settings)
    content_type, extension = CONTENT_TYPES[fmt]
    slug = _SLUG.sub("-", view.retro.incident.title.lower()).strip("-")[:50] or "document"
    return ExportFile(
        filename=f"retro-{view.retro.id}-{slug}.{extension}",
        content_type=content_type,
        data=render_export(view, fmt, settings),
    )
