"""HTML pages of the documents domain: the retro document, read-only, with its exports and publishing."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from markupsafe import Markup

import exporters
from app.auth.pages import login_required
from app.core.errors import HindsightError
from app.core.pages import page
from app.db import get_session
from app.documents import service
from app.extensions import settings

bp = Blueprint("documents_pages", __name__)

EXPORTS = (("markdown", "Markdown"), ("docx", "Word (DOCX)"), ("html", "HTML"), ("confluence", "Confluence storage"))


@bp.get("/retrospectives/<int:retro_id>/document")
@page
@login_required
def document(retro_id: int):
    """The assembled document as safe HTML, with export links and the Confluence publish state."""
    view = service.get_document(get_session(), viewer=g.user, retro_id=retro_id, settings=settings())
    # The exporter's HTML is safe by construction: raw HTML escaped, only http(s)/mailto links.
    body = Markup(exporters.to_html_fragment(exporters.parse(view.markdown)))
    return render_template(
        "pages/document.html", view=view, body=body, exports=EXPORTS,
        confluence=view.publications.get("confluence"), confluence_enabled=settings().confluence.enabled,
    )


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
