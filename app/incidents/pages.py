"""The web pages: the incident list, declaring an incident, and one incident with its retro, team and
timeline, where its team changes its status, resolves it, adds events and gives roles.

Whoever may see an incident may change it, as in the API (`PATCH /incidents/{id}`, its roles and
timeline answer everyone `get_visible_incident` finds): the forms are shown to them all, and an
incident someone may not see answers 404 to its page and to every form's post alike.

Each form posts to its own route, goes through the API's schema and the same flow or service the
API calls, and answers with a redirect (success) or the page again with the form as typed (422).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.auth.pages import login_required
from app.core.dates import org_now
from app.core.errors import HindsightError
from app.core.pages import page
from app.core.templating import status_label, when_text
from app.db import get_session
from app.extensions import settings
from app.incidents import flows, forms, service
from app.incidents.access import get_visible_incident, person_may_see
from app.incidents.models import SINGLE_HOLDER_ROLES, Incident, IncidentStatus, Visibility
from app.incidents.schemas import EventCreate, IncidentCreate, IncidentUpdate, RoleCreate
from app.incidents.wording import (
    ROLE_LABELS, SEVERITY_HINTS, VISIBILITY_WORDS, countdown, page_error, role_label, roles_in_words,
)
from app.people.service import find_person, list_people
from app.retros.models import RetroStatus
from app.search.related import related_incidents
from app.services import wording as _service_wording  # noqa: F401  (registers how unknown services read)
from app.services.service import service_names

bp = Blueprint("incident_pages", __name__)


@bp.get("/")
@page
@login_required
def index():
    """Every incident the user may see, newest first."""
    session = get_session()
    incidents = service.list_incidents(session, viewer=g.user)
    return render_template("pages/incidents.html", incidents=incidents)


@bp.route("/incidents/new", methods=["GET", "POST"])
@page
@login_required
def declare():
    """Declare an incident: the form, then `POST /incidents`'s service; its commander gets the role."""
    config = settings()
    if request.method == "GET":
        return _declare_page(forms.declare_defaults(g.user, org_now(config), config.zone))
    session = get_session()
    form = forms.read(request.form, forms.DECLARE_FIELDS)
    picked = forms.picked_services(request.form)
    try:
        errors: dict[str, str] = {}
        data = forms.parse(IncidentCreate, forms.declare_body(form, config.zone, errors, services=picked), errors)
        incident = service.create_incident(session, data=data, viewer=g.user)
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _declare_page(form, picked=picked, error=exc), 422
    commander = incident.commander
    said = f"Incident declared; {commander.name if commander else 'nobody'} is its commander."
    if not g.user.is_admin and not person_may_see(session, person_id=g.user.person_id, incident_id=incident.id):
        # Private, and the one who declared it holds no role in it: only its team sees it from now on.
        flash(f"{said} It is private and you hold no role in it, so only its team and admins can open it.", "warning")
        return redirect(url_for("incident_pages.index"))
    flash(said)
    return redirect(url_for("incident_pages.incident", incident_id=incident.id))


@bp.get("/incidents/<int:incident_id>")
@page
@login_required
def incident(incident_id: int):
    """One incident: facts, the booked retro, response team and timeline, with the forms that change them."""
    item = get_visible_incident(get_session(), g.user, incident_id)
    return _incident_page(item)


@bp.post("/incidents/<int:incident_id>/status")
@page
@login_required
def change_status(incident_id: int):
    """Change the status; resolving (with its time) books the retro, reopening withdraws an unscheduled one."""
    session = get_session()
    config = settings()
    item = get_visible_incident(session, g.user, incident_id)
    form = forms.read(request.form, forms.STATUS_FIELDS)
    was_resolved = item.status == IncidentStatus.RESOLVED
    try:
        errors: dict[str, str] = {}
        data = forms.parse(IncidentUpdate, forms.status_body(form, item, config.zone, errors), errors)
        if not data.model_fields_set:
            flash("Nothing changed.")
            return redirect(url_for("incident_pages.incident", incident_id=item.id))
        flows.update_incident(session, incident=item, data=data, actor=g.user, settings=config)
    except HindsightError as exc:
        return _refused(exc, incident_id, "status", form)
    retro = item.retrospective
    if item.status == IncidentStatus.RESOLVED and retro is not None and retro.status not in RetroStatus.done():
        verb = "resolution time is corrected" if was_resolved else "incident is resolved"
        flash(f"The {verb}: its retrospective is due by {_when(retro.deadline_at)}.")
    elif retro is not None and retro.status == RetroStatus.WITHDRAWN:
        flash(f"The incident is now {status_label(item.status)}; its retrospective, not yet scheduled, is "
              "withdrawn until the incident is resolved again.")
    else:
        flash(f"The incident is now {status_label(item.status)}.")
    return redirect(url_for("incident_pages.incident", incident_id=item.id))


@bp.post("/incidents/<int:incident_id>/services")
@page
@login_required
def change_services(incident_id: int):
    """Set the services the incident touched (the boxes ticked), as `PATCH /incidents/{id}` with `services`."""
    session = get_session()
    item = get_visible_incident(session, g.user, incident_id)
    picked = forms.picked_services(request.form)
    try:
        data = forms.parse(IncidentUpdate, {"services": picked}, {})
        flows.update_incident(session, incident=item, data=data, actor=g.user, settings=settings())
    except HindsightError as exc:
        return _refused(exc, incident_id, "services", {"services": ",".join(picked)})
    names = item.service_names
    flash(f"Services touched: {', '.join(names)}." if names else "No services are named for this incident now.")
    return redirect(url_for("incident_pages.incident", incident_id=item.id, _anchor="services"))


@bp.post("/incidents/<int:incident_id>/timeline")
@page
@login_required
def add_event(incident_id: int):
    """Add one event to the timeline, written by the signed-in user."""
    session = get_session()
    config = settings()
    item = get_visible_incident(session, g.user, incident_id)
    form = forms.read(request.form, forms.EVENT_FIELDS)
    try:
        errors: dict[str, str] = {}
        event = forms.parse(EventCreate, forms.event_body(form, config.zone, errors, author=g.user.person.name), errors)
        service.add_events(session, incident=item, events=[event])
    except HindsightError as exc:
        return _refused(exc, incident_id, "event", form)
    flash(f"The event at {_when(event.occurred_at)} is on the timeline.")
    return redirect(url_for("incident_pages.incident", incident_id=item.id, _anchor="timeline"))


@bp.post("/incidents/<int:incident_id>/roles")
@page
@login_required
def add_role(incident_id: int):
    """Give someone a role; for commander, scribe and communications lead it is a handoff."""
    session = get_session()
    config = settings()
    item = get_visible_incident(session, g.user, incident_id)
    form = forms.read(request.form, forms.ROLE_FIELDS)
    previous = item.current_holder(form["role"]) if form["role"] in SINGLE_HOLDER_ROLES else None
    try:
        errors: dict[str, str] = {}
        data = forms.parse(RoleCreate, forms.role_body(form, config.zone, errors), errors)
        role, created = flows.add_role(
            session, incident=item, email=data.email, role=data.role, started_at=data.started_at,
            actor=g.user, override_reason=data.override_reason,
        )
    except HindsightError as exc:
        return _refused(exc, incident_id, "role", form)
    name, label = role.person.name, role_label(role.role)
    if not created:
        flash(f"{name} already holds the {label} role.")
    elif previous is not None and previous.id != role.person_id:
        flash(f"{name} takes over as {label} from {previous.name}.")
    else:
        flash(f"{name} is now {label}.")
    return redirect(url_for("incident_pages.incident", incident_id=item.id, _anchor="team"))


# -- rendering ----------------------------------------------------------------------------------

def _when(moment: datetime | None) -> str:
    config = settings()
    return when_text(moment, zone=config.zone, current_year=org_now(config).year)


def _refused(exc: HindsightError, incident_id: int, which: str, form: dict[str, str]) -> Any:
    """A refused form: nothing of it kept, the page again with the form as typed, 422."""
    if exc.status == 404:
        raise exc
    session = get_session()
    session.rollback()  # the flow may have applied part of the change before it was refused
    item = get_visible_incident(session, g.user, incident_id)
    person = find_person(session, form["email"]) if form.get("email") else None
    error = page_error(exc, when=_when, labels=forms.LABELS, person=person.name if person else None)
    return _incident_page(item, typed={which: form}, error=error, failed=which), 422


def _incident_page(
    item: Incident, *, typed: Mapping[str, dict[str, str]] | None = None, error: Any = None, failed: str | None = None,
) -> str:
    config = settings()
    now = org_now(config)
    typed = typed or {}
    retro = item.retrospective
    counting = retro is not None and retro.status in (RetroStatus.PENDING, RetroStatus.SCHEDULED)
    values = {
        "status": typed.get("status") or forms.status_defaults(item, now, config.zone),
        "event": typed.get("event") or forms.event_defaults(now, config.zone),
        "role": typed.get("role") or forms.role_defaults(now, config.zone),
    }
    picked = [n for n in typed["services"]["services"].split(",") if n] if "services" in typed else item.service_names
    return render_template(
        "pages/incident.html", incident=item, retro=retro,
        events=service.timeline_rows(get_session(), incident_id=item.id),
        retro_warnings=[roles_in_words(w) for w in retro.warnings] if retro else [],
        retro_countdown=countdown(retro.deadline_at, now) if counting else None,
        retro_overdue=counting and retro.deadline_at < now,
        values=values, error=error, failed=failed, people=list_people(get_session(), active_only=True),
        statuses=list(IncidentStatus), roles=ROLE_LABELS, role_label=role_label,
        show_reason=failed == "role" and (error.code == "spectator_not_allowed" or bool(values["role"]["override_reason"])),
        timezone=config.timezone, deadline_days=config.retro.deadline_days,
        service_names=service_names(get_session()), picked_services=picked,
        related=related_incidents(get_session(), incident=item, viewer=g.user, settings=config),
    )


def _declare_page(form: dict[str, str], *, picked: list[str] | None = None, error: HindsightError | None = None) -> str:
    config = settings()
    shown = page_error(error, when=_when, labels=forms.LABELS) if error is not None else None
    return render_template(
        "pages/incident_declare.html", form=form, error=shown, people=list_people(get_session(), active_only=True),
        severities=SEVERITY_HINTS, visibilities=VISIBILITY_WORDS, timezone=config.timezone,
        Visibility=Visibility, service_names=service_names(get_session()), picked_services=picked or [],
    )
