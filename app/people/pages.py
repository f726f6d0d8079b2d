"""The People admin pages: everyone who can hold a role, and the form that changes a person's details."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.auth.context import admins_only, record
from app.auth.models import AuditKind
from app.auth.pages import login_required
from app.core.api import validate
from app.core.errors import HindsightError
from app.core.pages import page
from app.core.wording import PageError
from app.db import get_session
from app.people import flows, service
from app.people.models import Person
from app.people.schemas import PersonUpdate, time_zones

bp = Blueprint("people_pages", __name__)

FIELDS = ("name", "email", "timezone", "jira_account_id", "pagerduty_user_id")
LABELS = {"name": "name", "email": "email", "timezone": "time zone", "jira_account_id": "Jira account id",
          "pagerduty_user_id": "PagerDuty user id", "active": "active"}
# What to do about each field the schema refuses, whatever pydantic's words were.
FIELD_HELP = {
    "name": "Give a name on one line, at most 200 characters.",
    "email": "Give an email address, like ada@example.com.",
    "timezone": "Pick a time zone from the list, or leave it empty.",
    "jira_account_id": "A Jira account id has at most 128 characters.",
    "pagerduty_user_id": "A PagerDuty user id is letters and digits only, like PXPGF42.",
}


@bp.get("/admin/people")
@page
@login_required
def index():
    """Everyone, by name, with their details; for admins."""
    admins_only()
    session = get_session()
    people = service.list_people(session)
    return render_template("pages/admin_people.html", people=people, pagerduty=flows.pagerduty_ids(session, people))


@bp.route("/admin/people/<int:person_id>", methods=["GET", "POST"])
@page
@login_required
def edit(person_id: int):
    """Change a person's name, email, time zone, Jira and PagerDuty ids, or mark them as gone; audited."""
    admins_only()
    session = get_session()
    person = service.get_person(session, person_id)
    if request.method == "GET":
        return _form(person, _values(session, person))
    form = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    form["active"] = "yes" if request.form.get("active") else ""
    body = {name: form[name] or None for name in FIELDS} | {"active": bool(form["active"])}
    try:
        data = validate(PersonUpdate, body, what="form")
        changed = flows.edit_person(session, person=person, data=data)
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        person = service.get_person(session, person_id)
        return _form(person, form, error=_in_words(exc)), 422
    if changed:
        record(session, AuditKind.PERSON_CHANGED, subject=person.name,
               detail="changed " + ", ".join(LABELS[name] for name in changed))
        flash(f"Saved {person.name}.")
    else:
        flash(f"Nothing changed for {person.name}.")
    return redirect(url_for("people_pages.index"))


def _values(session, person: Person) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "name": person.name, "email": person.email, "timezone": person.timezone or "",
        "jira_account_id": person.jira_account_id or "",
        "pagerduty_user_id": flows.pagerduty_ids(session, [person]).get(person.id, ""),
        "active": "yes" if person.active else "",
    }


def _in_words(error: HindsightError) -> PageError:
    """The refusal for the page: a field note in words for each field, never pydantic's own text."""
    fields: dict[str, str] = {}
    for name, message in error.fields.items():
        base = name.split(".")[0]
        fields[base] = message[:1].upper() + message[1:] + "." if error.code != "validation_error" \
            else FIELD_HELP.get(base, "Check this field.")
    return PageError(code=error.code, message="Some fields need another look: see the notes beside them.",
                     fields=fields)


def _form(person: Person, values: dict[str, str], *, error: PageError | None = None) -> str:
    return render_template("pages/admin_person.html", person=person, values=values, error=error, zones=time_zones())
