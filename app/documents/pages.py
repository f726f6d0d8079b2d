"""HTML pages of the documents domain: the retro document, edited section by section, its exports and publishing."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup

from app.auth.pages import login_required
from app.core.errors import HindsightError
from app.core.pages import page
from app.core.wording import in_words
from app.db import get_session
from app.documents import service
from app.documents import wording  # noqa: F401 - registers what the documents' error codes say on pages
from app.documents.service import DocumentView
from app.extensions import settings
from app.retros.models import Retrospective

bp = Blueprint("documents_pages", __name__)

EXPORTS = (("markdown", "Markdown"), ("docx", "Word (DOCX)"), ("html", "HTML"), ("confluence", "Confluence storage"))


@bp.app_template_filter("section_html")
def section_html(body: str) -> Markup:
    """A section's Markdown as the HTML export prints it: safe by construction (raw HTML escaped, safe links only)."""
    return Markup(service.section_html(body or ""))


@bp.app_template_global("document_locked")
def document_locked(retro: Retrospective) -> bool:
    """Whether the retro's document is read-only on every page (the retro is completed or published)."""
    return service.is_locked(retro)


@bp.get("/retrospectives/<int:retro_id>/document")
@page
@login_required
def document(retro_id: int):
    """The document section by section (each editable, collapsible), the template choice, exports and publishing."""
    view = service.get_document(get_session(), viewer=g.user, retro_id=retro_id, settings=settings())
    return _document_page(view)


def _document_page(view: DocumentView, *, chosen: str | None = None, error: HindsightError | None = None) -> str:
    return render_template(
        "pages/document.html", view=view, retro=view.retro, exports=EXPORTS,
        live={key: section_html(markdown) for key, markdown in view.live.items()},
        templates=service.list_templates(get_session()), chosen=chosen or view.retro.template,
        edited=any(section.version > 1 for section in view.sections),
        error=in_words(error, labels={"template": "Template"}) if error else None,
        confluence=view.publications.get("confluence"), confluence_enabled=settings().confluence.enabled,
        timezone=settings().timezone,
    )


@bp.post("/retrospectives/<int:retro_id>/document/template")
@page
@login_required
def choose_template(retro_id: int):
    """Regenerate the document from another template; refused in words once anyone edited it."""
    session = get_session()
    chosen = request.form.get("template", "").strip()
    try:
        view = service.choose_template(session, viewer=g.user, retro_id=retro_id, template=chosen, settings=settings())
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()  # a refused change keeps nothing
        view = service.get_document(session, viewer=g.user, retro_id=retro_id, settings=settings())
        return _document_page(view, chosen=chosen, error=exc), 422
    title = next((t["title"] for t in service.list_templates(session) if t["name"] == view.retro.template), chosen)
    flash(f"The document now follows the “{title}” template.")
    return redirect(url_for("documents_pages.document", retro_id=retro_id))


@bp.post("/retrospectives/<int:retro_id>/document/publish")
@page
@login_required
def publish(retro_id: int):
    """Publish to Confluence from the page; a failure is shown on the page and kept on the retro."""
    session = get_session()
    try:
        publication = service.publish_to_confluence(session, viewer=g.user, retro_id=retro_id, settings=settings())
    except service.PublishFailed as exc:
        flash(exc.message, "error")  # the failure recorded on the publication is committed with the page
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()  # a refused publish keeps nothing
        flash(exc.message, "error")
    else:
        flash(f"Published to Confluence, version {publication.page_version}.")
    return redirect(url_for("documents_pages.document", retro_id=retro_id))
