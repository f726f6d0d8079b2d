"""The Services page: the catalogue with each service's team, a form to add one, and (for admins) an import
of a CSV or YAML file or a Backstage catalog export.

Adding goes through the API's schema and service (`POST /services`); an import is read and checked
whole before anything is saved, and a file with a bad row saves nothing and names the rows.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.auth.pages import login_required
from app.core.api import validate
from app.core.errors import Forbidden, HindsightError
from app.core.pages import page
from app.core.wording import PageError, in_words
from app.db import get_session
from app.services import service, wording  # noqa: F401  (wording registers the sayings)
from app.services.catalogue import CatalogueError, read_catalogue
from app.services.schemas import ServiceCreate

bp = Blueprint("services_pages", __name__)

FIELDS = ("name", "team", "description")
LABELS = {"name": "Name", "team": "Team", "description": "Description"}
NAME_NOTE = "Use lower-case letters, digits and . _ - (like checkout-api), starting and ending with a letter or digit."
MAX_IMPORT_BYTES = 2 * 1024 * 1024


@bp.get("/services")
@page
@login_required
def index():
    """The catalogue, by name, with the teams."""
    return _catalogue({name: "" for name in FIELDS})


@bp.post("/services")
@page
@login_required
def create():
    """Add a service (and its team, if new)."""
    session = get_session()
    form = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    body = {name: form[name] for name in FIELDS if form[name]}
    try:
        data = validate(ServiceCreate, body)
        created = service.create_service(session, data=data)
    except HindsightError as exc:
        session.rollback()
        shown = in_words(exc, labels=LABELS)
        notes = {name: (NAME_NOTE if name in ("name", "team") and "pattern" in note.lower() else note)
                 for name, note in shown.fields.items()}
        return _catalogue(form, error=PageError(code=shown.code, message=shown.message, fields=notes), failed="add"), 422
    flash(f"{created.name} is in the catalogue" + (f", owned by {created.team_name}." if created.team_name else "."))
    return redirect(url_for("services_pages.index", _anchor=f"service-{created.name}"))


@bp.post("/services/import")
@page
@login_required
def import_file():
    """Import a catalogue file (admins): each service created or updated by name, or nothing if a row is bad."""
    if not g.user.is_admin:
        raise Forbidden("Only admins can import the service catalogue.", code="admin_only")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_refused({"file": "Choose a CSV or YAML file first."}), 422
    raw = upload.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        return _import_refused({"file": "The file is larger than 2 MB: split it into several."}), 422
    try:
        rows = read_catalogue(raw.decode("utf-8"), filename=upload.filename)
    except UnicodeDecodeError:
        return _import_refused({"file": "The file is not UTF-8 text: save it as UTF-8 CSV or YAML."}), 422
    except CatalogueError as exc:
        return _import_refused(exc.problems), 422
    result = service.import_catalogue(get_session(), rows=rows)
    flash(f"Imported {upload.filename}: {result.created} services added, {result.updated} updated, "
          f"{result.unchanged} already up to date, {result.teams_created} new teams.")
    return redirect(url_for("services_pages.index"))


def _import_refused(problems: dict[str, str]) -> str:
    get_session().rollback()
    error = PageError(code="import_refused", message="Nothing was imported: fix these rows in the file and try again.")
    return _catalogue({name: "" for name in FIELDS}, error=error, failed="import", problems=problems)


def _catalogue(form: dict[str, str], *, error: PageError | None = None, failed: str | None = None,
               problems: dict[str, str] | None = None) -> str:
    session = get_session()
    return render_template(
        "pages/services.html", services=service.list_services(session), teams=service.list_teams(session),
        form=form, error=error, failed=failed, problems=problems or {}, name_note=NAME_NOTE,
    )
