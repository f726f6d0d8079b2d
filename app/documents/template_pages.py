"""HTML pages of the document templates: the list, one template with a preview against the demo
incident, and the form that creates or changes a custom template (admins, as the API allows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

import exporters
from app.auth.pages import login_required
from app.core.api import validate
from app.core.errors import Forbidden, HindsightError
from app.core.pages import page
from app.db import get_session
from app.documents import service
from app.documents.models import LIVE_SECTIONS
from app.documents.schemas import TemplateCreate
from app.documents.template_preview import Preview, preview_draft, preview_saved
from app.documents.template_wording import refusal_notes, refusals, template_error
from app.extensions import settings

bp = Blueprint("template_pages", __name__)

MAX_ROWS = 60  # the API takes 50 sections; a few blank rows more are ignored
BLANK_ROWS_NEW = 3
ROW_PARTS = ("key", "title", "body", "prompt")


@bp.get("/templates")
@page
@login_required
def index():
    """Every template, built-in and custom, with what it is for and its sections."""
    templates = service.list_templates(get_session())
    return render_template("pages/templates.html", templates=templates, may_edit=g.user.is_admin)


@bp.get("/templates/<name>")
@page
@login_required
def template(name: str):
    """One template: its sections in order with their text, and a preview against the demo incident."""
    session = get_session()
    shown = service.get_template(session, name=name)
    preview = preview_saved(session, name=name, viewer=g.user, settings=settings())
    custom = None if shown["builtin"] else service.custom_template(session, name)
    refused = refusals(preview.problems, shown["sections"]) if preview.refused else []
    return render_template(
        "pages/template.html", template=shown, custom=custom, preview=preview, rendered=_html_of(preview),
        refused=refused,
        live=LIVE_SECTIONS, may_edit=g.user.is_admin and not shown["builtin"],
    )


@bp.route("/templates/new", methods=["GET", "POST"])
@page
@login_required
def new():
    """Make a custom template: add and remove sections, preview against the demo incident, save."""
    _admin_only("Only admins create document templates.")
    if request.method == "GET":
        blank = {"name": "", "title": "", "description": ""}
        return _form_page(None, form=blank, rows=[_blank() for _ in range(BLANK_ROWS_NEW)])
    return _post_form(None)


@bp.route("/templates/<name>/edit", methods=["GET", "POST"])
@page
@login_required
def edit(name: str):
    """Change a custom template's title, description and sections (built-in ones are refused in words)."""
    _admin_only("Only admins change document templates.")
    session = get_session()
    shown = service.get_template(session, name=name)
    if shown["builtin"]:
        flash("Built-in templates cannot be changed. Make a custom template instead.", "warning")
        return redirect(url_for("template_pages.template", name=name))
    if request.method == "GET":
        form = {"name": shown["name"], "title": shown["title"], "description": shown["description"]}
        rows = [{part: s.get(part) or "" for part in ROW_PARTS} for s in shown["sections"]]
        return _form_page(name, form=form, rows=rows + [_blank()])
    return _post_form(name)


def _admin_only(message: str) -> None:
    # The API's rule (services.create_template / update_template): only admins shape templates.
    if not g.user.is_admin:
        raise Forbidden(message, code="admin_only")


def _post_form(name: str | None):  # type: ignore[no-untyped-def]
    """One press of the form's buttons: add or remove a section, preview, or save."""
    form = {"name": name or request.form.get("name", "").strip(), "title": request.form.get("title", "").strip(),
            "description": _text(request.form.get("description", ""))}
    rows = _rows(request.form)
    action = request.form.get("action", "save")
    removed = request.form.get("remove", "")
    if removed.isascii() and removed.isdigit():
        number = int(removed)
        rows = [row for position, row in enumerate(rows, start=1) if position != number] or [_blank()]
        return _form_page(name, form=form, rows=rows)
    if action == "add":
        return _form_page(name, form=form, rows=rows + [_blank()])
    sections = [row for row in rows if any(row.values())]
    if action == "preview":
        return _preview(name, form=form, sections=sections)
    return _save(name, form=form, sections=sections)


def _preview(name: str | None, *, form: dict[str, str], sections: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    shown_rows = sections + [_blank()]
    if not sections:
        return _form_page(name, form=form, rows=shown_rows, nothing_to_preview=True)
    preview = preview_draft(get_session(), sections=sections, viewer=g.user, settings=settings())
    if preview.refused:
        message = "The preview stopped. " + "; ".join(refusals(preview.problems, sections)) + "."
        notes = refusal_notes(preview.problems, sections)
        return _form_page(name, form=form, rows=shown_rows, message=message, notes=notes), 422
    return _form_page(name, form=form, rows=shown_rows, preview=preview)


def _save(name: str | None, *, form: dict[str, str], sections: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    session = get_session()
    payload = {"name": form["name"], "title": form["title"], "description": form["description"],
               "sections": sections}
    try:
        data = validate(TemplateCreate, payload, what="template")
        if name is None:
            saved = service.create_template(session, data=data, actor=g.user, settings=settings())
        else:
            saved = service.update_template(session, name=name, data=data, actor=g.user, settings=settings())
    except HindsightError as exc:
        if exc.status in (403, 404):
            raise
        session.rollback()  # nothing of a refused template is kept
        said = template_error(exc, sections)
        return _form_page(name, form=form, rows=sections + [_blank()], message=said.message, notes=said.fields), 422
    flash(f"The template “{saved.title}” is saved." if name is None else f"The changes to “{saved.title}” are saved.")
    return redirect(url_for("template_pages.template", name=saved.name))


def _rows(form: MultiDict[str, str]) -> list[dict[str, str]]:
    """The form's section rows in order, as typed (line endings made plain)."""
    rows = []
    for number in range(1, MAX_ROWS + 1):
        names = [f"section-{number}-{part}" for part in ROW_PARTS]
        if not any(field in form for field in names):
            break
        row = {part: form.get(field, "") for part, field in zip(ROW_PARTS, names)}
        rows.append({"key": row["key"].strip(), "title": row["title"].strip(), "body": _text(row["body"]),
                     "prompt": row["prompt"].strip()})
    return rows


def _text(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _blank() -> dict[str, str]:
    return {part: "" for part in ROW_PARTS}


def _html_of(preview: Preview) -> list[Markup]:
    """Each rendered section as safe HTML (the exporter escapes raw HTML and keeps only safe links)."""
    return [Markup(exporters.to_html_fragment(exporters.parse(s.body))) for s in preview.sections]


def _form_page(
    name: str | None, *, form: Mapping[str, str], rows: list[dict[str, str]], message: str | None = None,
    notes: Mapping[str, str] | None = None, preview: Preview | None = None, nothing_to_preview: bool = False,
) -> str:
    context: dict[str, Any] = {
        "editing": name, "form": form, "rows": rows[:MAX_ROWS], "message": message, "notes": notes or {},
        "preview": preview, "rendered": _html_of(preview) if preview else [], "live": LIVE_SECTIONS,
        "nothing_to_preview": nothing_to_preview,
    }
    return render_template("pages/template_form.html", **context)
