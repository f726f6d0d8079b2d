"""HTML pages around a retro: the facilitation page (the meeting) and the scheduling form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.actions import service as actions
from app.actions.models import Priority
from app.auth.pages import login_required
from app.core.api import validate
from app.core.dates import org_today
from app.core.errors import HindsightError, ValidationFailed
from app.core.pages import page
from app.db import get_session
from app.documents import service as documents
from app.documents.models import LIVE_SECTIONS
from app.extensions import settings
from app.incidents.service import timeline_rows
from app.people.models import Person
from app.retros import flows, service
from app.retros.models import Retrospective
from app.retros.schemas import RetroUpdate

bp = Blueprint("retro_pages", __name__)

# Rules that an override reason may set aside (facilitator_involved may not be).
OVERRIDABLE = ("retro_past_deadline", "spectator_not_allowed")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
FORM_FIELDS = ("scheduled_for", "facilitator", "participants")


@bp.get("/retrospectives/<int:retro_id>/facilitate")
@page
@login_required
def facilitate(retro_id: int):
    """The meeting: ground rules, timeline review, the document's sections, action items captured live."""
    session = get_session()
    config = settings()
    view = documents.get_document(session, viewer=g.user, retro_id=retro_id, settings=config)
    retro = view.retro
    sections = {s.key: s for s in view.sections}
    items, _total, _next = actions.list_items(
        session, viewer=g.user, settings=config, retrospective_id=retro.id, limit=config.action_items.max_page_size,
    )
    return render_template(
        "pages/retro_facilitate.html", retro=retro, incident=retro.incident,
        ground_rules=config.retro.ground_rules, events=timeline_rows(session, incident_id=retro.incident_id),
        ground_rules_section=sections.get("ground_rules"), timeline_section=sections.get("timeline"),
        items_section=sections.get("action_items"),
        sections=[s for s in view.sections if s.key not in LIVE_SECTIONS and s.key != "ground_rules"],
        items=items, owners=_possible_owners(retro), retro_warnings=retro.warnings,
        statuses=documents.STATUS_LABELS, priorities=list(Priority),
        max_weeks=config.action_items.max_weeks, timezone=config.timezone, today=org_today(config),
    )


def _possible_owners(retro: Retrospective) -> list[Person]:
    """Who may own the retro's action items on this page: the participants, then the facilitator."""
    people = [p.person for p in retro.participants]
    if retro.facilitator is not None:
        people.append(retro.facilitator)
    unique = {person.id: person for person in people}
    return list(unique.values())


@bp.route("/retrospectives/<int:retro_id>/schedule", methods=["GET", "POST"])
@page
@login_required
def schedule(retro_id: int):
    """Schedule the retro, pick its facilitator, edit its participants; refusals shown with a way to override."""
    session = get_session()
    config = settings()
    retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
    if request.method == "GET":
        current = _form_of(retro)
        return _schedule_page(retro, form=current, loaded=current)
    current = _form_of(retro)
    # A field missing from the post is left as it is; so is one the user did not change
    # from what the form showed (someone else may have changed it since).
    loaded = {name: request.form.get(f"loaded_{name}", current[name]) for name in FORM_FIELDS}
    form = {name: request.form.get(name, loaded[name]).strip() for name in FORM_FIELDS}
    form["override_reason"] = request.form.get("override_reason", "").strip()
    try:
        data = validate(RetroUpdate, _changes(loaded, form))
        if len(data.model_fields_set - {"override_reason"}) == 0:
            flash("Nothing changed.")
            return redirect(url_for("retro_pages.schedule", retro_id=retro.id))
        flows.update_retrospective(session, retro=retro, data=data, actor=g.user, settings=config)
    except HindsightError as exc:
        if exc.status == 404:
            raise
        # Nothing of a refused change may stay: the service may have applied earlier fields.
        session.rollback()
        retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
        return _schedule_page(retro, form=form, loaded=loaded, error=exc), 422
    flash("The retrospective is updated.")
    return redirect(url_for("retro_pages.schedule", retro_id=retro.id))


def _form_of(retro: Retrospective) -> dict[str, str]:
    zone = settings().zone
    when = retro.scheduled_for
    return {
        "scheduled_for": when.astimezone(zone).strftime(LOCAL_INPUT) if when else "",
        "facilitator": retro.facilitator.email if retro.facilitator else "",
        "participants": "\n".join(p.person.email for p in retro.participants),
        "override_reason": "",
    }


def _emails(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _changes(loaded: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
    """The PATCH body the form amounts to: only the fields the user changed from what it showed.

    Sending an unchanged field would re-check its rule (e.g. re-refuse spectators invited
    earlier with an override) or undo someone else's change, so unchanged fields are left out.
    """
    body: dict[str, Any] = {}
    if form["scheduled_for"] != loaded["scheduled_for"]:
        body["scheduled_for"] = _aware_utc(form["scheduled_for"]) if form["scheduled_for"] else None
    if form["facilitator"].lower() != loaded["facilitator"].lower():
        body["facilitator"] = form["facilitator"] or None
    emails = _emails(form["participants"])
    if {e.lower() for e in emails} != {e.lower() for e in _emails(loaded["participants"])}:
        body["participants"] = emails
    if form["override_reason"]:
        body["override_reason"] = form["override_reason"]
    return body


def _aware_utc(local: str) -> str:
    """A datetime-local value, read in the organisation's time zone, as an aware UTC ISO string."""
    zone = settings().zone
    try:
        naive = datetime.strptime(local, LOCAL_INPUT)
        moment = naive.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValidationFailed(
            "The meeting time is not a date and time.", fields={"scheduled_for": "is not a date and time"},
        ) from None
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        # The clocks skip this hour (the spring change to summer time).
        raise ValidationFailed(
            f"{local.replace('T', ' ')} does not exist in {zone.key}: the clocks skip that hour.",
            fields={"scheduled_for": f"does not exist in {zone.key}"},
        )
    return moment.isoformat()


def _schedule_page(
    retro: Retrospective, *, form: dict[str, str], loaded: dict[str, str], error: HindsightError | None = None,
) -> str:
    config = settings()
    fields: dict[str, str] = {}
    if error is not None:
        for name, message in error.fields.items():
            # participants.3 (an unknown email) is shown at the participants field.
            fields.setdefault(name.split(".")[0], message)
    code = error.code if error is not None else None
    return render_template(
        "pages/retro_schedule.html", retro=retro, incident=retro.incident, form=form, loaded=loaded, error=error,
        fields=fields, show_override=code in OVERRIDABLE or bool(form["override_reason"]),
        pool=config.retro.facilitator_pool, responders=retro.incident.responders(),
        timezone=config.timezone,
    )
