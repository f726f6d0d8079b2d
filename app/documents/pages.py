"""HTML pages of the documents domain: the retro document, read-only, with its exports and publishing."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from markupsafe import Markup

import exporters
from app.core.errors import HindsightError
from app.db import commit, get_session
from app.documents import service
from app.extensions import settings
from app.incidents.pages import login_required

bp = Blueprint("documents_pages", __name__)

EXPORTS = (("markdown", "Markdown"), ("docx", "Word (DOCX)"), ("html", "HTML"), ("confluence", "Confluence storage"))


@bp.get("/retrospectives/<int:retro_id>/document")
@login_required
def document(retro_id: int):
    """The assembled document as safe HTML, with export links and the Confluence publish state."""
    session = get_session()
    view = service.get_document(session, viewer=g.user, retro_id=retro_id, settings=settings())
    commit(session)  # a document generated on first view is kept
    # The exporter's HTML is safe by construction: raw HTML escaped, only http(s)/mailto links.
    body = Markup(exporters.to_html_fragment(exporters.parse(view.markdown)))
    return render_template(
        "pages/document.html", view=view, body=body, exports=EXPORTS,
        confluence=view.publications.get("confluence"), confluence_enabled=settings().confluence.enabled,
    )


@bp.post("/retrospectives/<int:retro_id>/document/publish")
@login_required
def publish(retro_id: int):
    """Publish to Confluence from the page; a failure is shown on the page and kept on the retro."""
    session = get_session()
    try:
        publication = service.publish_to_confluence(session, viewer=g.user, retro_id=retro_id, settings=settings())
    except service.PublishFailed as exc:
        commit(session)
        flash(exc.message, "error")
    except HindsightError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        commit(session)
        flash(f"Published to Confluence, version {publication.page_version}.")
    return redirect(url_for("documents_pages.document", retro_id=retro_id))
