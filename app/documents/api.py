"""JSON routes of the documents domain: the document, its sections, exports, publishing, templates."""

from __future__ import annotations

from flask import Blueprint, Response

from app.core.api import endpoint
from app.db import get_session
from app.documents import service
from app.documents.schemas import (
    DocumentRead, ExportQuery, PreviewRead, PreviewRequest, PublishRead, SectionHistory, SectionRead, SectionUpdate,
    SectionVersionRead, TemplateChoice, TemplateCreate, TemplateList, TemplateRead,
)
from app.extensions import settings

bp = Blueprint("documents_api", __name__, url_prefix="/api/v1")


@bp.get("/retrospectives/<int:retro_id>/document")
@endpoint("The retro's document: its sections (with versions) and the assembled Markdown",
          response=DocumentRead, tags=("documents",))
def get_document(user, retro_id: int):
    return DocumentRead.model_validate(service.get_document(get_session(), viewer=user, retro_id=retro_id, settings=settings()))


@bp.put("/retrospectives/<int:retro_id>/sections/<key>")
@endpoint("Save a section; 409 with the current text if `version` is stale, 409 `retro_completed` once the "
          "retro is completed or published", body=SectionUpdate,
          response=SectionRead, tags=("documents",), errors=(409,))
def put_section(user, retro_id: int, key: str, body: SectionUpdate):
    section = service.save_section(
        get_session(), viewer=user, retro_id=retro_id, key=key, body=body.body, version=body.version,
        title=body.title,
    )
    return SectionRead.model_validate(section)


@bp.post("/retrospectives/<int:retro_id>/preview")
@endpoint("A section's Markdown as HTML, rendered and made safe exactly as the HTML export does",
          body=PreviewRequest, response=PreviewRead, tags=("documents",))
def preview(user, retro_id: int, body: PreviewRequest):
    return PreviewRead(html=service.preview_section(get_session(), viewer=user, retro_id=retro_id, body=body.body))


@bp.get("/retrospectives/<int:retro_id>/sections/<key>/history")
@endpoint("Every saved version of a section, newest first", response=SectionHistory, tags=("documents",))
def get_section_history(user, retro_id: int, key: str):
    section, versions = service.section_history(get_session(), viewer=user, retro_id=retro_id, key=key)
    return SectionHistory(key=section.key, items=[SectionVersionRead.model_validate(v) for v in versions])


@bp.put("/retrospectives/<int:retro_id>/document/template")
@endpoint("Regenerate the document from another template (only before anyone edited it)",
          body=TemplateChoice, response=DocumentRead, tags=("documents",), errors=(409,))
def put_document_template(user, retro_id: int, body: TemplateChoice):
    view = service.choose_template(get_session(), viewer=user, retro_id=retro_id, template=body.template,
                                   settings=settings())
    return DocumentRead.model_validate(view)


@bp.get("/retrospectives/<int:retro_id>/export")
@endpoint("The document as a file: format=markdown|docx|html|confluence", query=ExportQuery, tags=("documents",))
def export(user, retro_id: int, query: ExportQuery):
    file = service.export_document(get_session(), viewer=user, retro_id=retro_id, fmt=query.format,
                                   settings=settings())
    response = Response(file.data, content_type=file.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    # An exported HTML file opened from our origin must not run anything or load anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/retrospectives/<int:retro_id>/publish/confluence")
@endpoint("Publish the document to Confluence: the first time creates the page, later ones update it",
          response=PublishRead, tags=("documents",), errors=(502, 503, 504))
def publish_confluence(user, retro_id: int):
    # A failure is recorded on the retro and kept (the edge commits an OutsideFailure's record).
    publication = service.publish_to_confluence(get_session(), viewer=user, retro_id=retro_id, settings=settings())
    return PublishRead(
        page_id=publication.page_id or "", url=publication.url or "", version=publication.page_version or 0,
        title=publication.title or "", status=publication.status,
    )


@bp.get("/templates")
@endpoint("Every document template, built-in and custom", response=TemplateList, tags=("documents",))
def list_templates(user):
    return TemplateList(items=[TemplateRead(**t) for t in service.list_templates(get_session())])


@bp.get("/templates/<name>")
@endpoint("One document template with its section bodies", response=TemplateRead, tags=("documents",))
def get_template(user, name: str):
    return TemplateRead(**service.get_template(get_session(), name=name))


@bp.post("/templates")
@endpoint("Create a custom template (admins); each section body is Jinja, checked in a sandbox",
          body=TemplateCreate, response=TemplateRead, status=201, tags=("documents",), errors=(409,), admin=True)
def create_template(user, body: TemplateCreate):
    session = get_session()
    template = service.create_template(session, data=body, actor=user, settings=settings())
    return TemplateRead(**service.get_template(session, name=template.name))


@bp.put("/templates/<name>")
@endpoint("Change a custom template (admins): the same body as creating one, the name unchanged; "
          "each section body is checked in the sandbox; built-in templates are not changed (409)",
          body=TemplateCreate, response=TemplateRead, tags=("documents",), errors=(409,), admin=True)
def update_template(user, name: str, body: TemplateCreate):
    session = get_session()
    template = service.update_template(session, name=name, data=body, actor=user, settings=settings())
    return TemplateRead(**service.get_template(session, name=template.name))
