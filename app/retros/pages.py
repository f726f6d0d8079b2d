"""HTML pages around a retro: the facilitation page (the meeting) and the scheduling form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from app.actions import service as actions
from app.actions.models import Priority
from app.auth.pages import login_required
from app.core.api import validate
from app.core.dates import org_now, org_today
from app.core.errors import HindsightError, ValidationFailed
from app.core.pages import page
from app.core.templating import when_text
from app.core.wording import PageError, in_words
from app.db import get_session
from app.documents import service as documents
from app.documents.models import LIVE_SECTIONS
from app.extensions import settings
from app.incidents.service import timeline_rows
from app.people.models import Person
from app.retros import flows, highlights, service
from app.retros.meeting import timeline_phases
from app.retros.models import RetroStatus, Retrospective
from app.retros.schemas import RetroReopen, RetroUpdate
from app.retros.wording import not_ready_in_words

bp = Blueprint("retro_pages", __name__)

# Rules that an override reason may set aside (facilitator_involved may not be).
OVERRIDABLE = ("retro_past_deadline", "spectator_not_allowed")
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
FORM_FIELDS = ("scheduled_for", "facilitator", "participants")
# The kinds of event the add-event form offers (the API takes any short lower-case word).
EVENT_KINDS = ("note", "detection", "escalation", "decision", "action", "communication", "mitigation", "role")
REOPEN_REASON_NOTE = "Say in a few words why the retro is reopened: it is kept in the retro's history."
POLL_SECONDS = 10  # how often the meeting page refreshes its action items' Jira sync state
# What a facilitator reads of an action item's Jira sync, by its sync_status (facilitate.js shows these).
SYNC_WORDS = {
    "off": "Jira is not connected",
    "pending": "Waiting to reach Jira",
    "synced": "Up to date in Jira",
    "failed": "Jira sync failed",
}


@bp.get("/retrospectives/<int:retro_id>/facilitate")
@page
@login_required
def facilitate(retro_id: int):
    """The meeting: ground rules, timeline review, the document's sections, action items captured live, wrap-up."""
    return _facilitate_page(get_session(), retro_id)


@bp.post("/retrospectives/<int:retro_id>/complete")
@page
@login_required
def complete(retro_id: int):
    """Complete the retro; refused, with each reason in words, until it is ready."""
    session = get_session()
    retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
    try:
        flows.complete_retrospective(session, retro=retro, actor=g.user)
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _facilitate_page(session, retro_id, error=exc), 422
    flash("The retro is completed. Its document is ready to export or publish.")
    return redirect(url_for("retro_pages.facilitate", retro_id=retro_id, _anchor="wrap-up"))


@bp.post("/retrospectives/<int:retro_id>/reopen")
@page
@login_required
def reopen(retro_id: int):
    """Reopen a completed retro, with a reason kept in its history."""
    session = get_session()
    retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
    typed = request.form.get("reason", "")
    try:
        data = validate(RetroReopen, {"reason": typed})
        flows.reopen_retrospective(session, retro=retro, actor=g.user, reason=data.reason)
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _facilitate_page(session, retro_id, error=exc, reopen_reason=typed), 422
    flash("The retro is reopened: its sections and action items can be changed again.")
    return redirect(url_for("retro_pages.facilitate", retro_id=retro_id, _anchor="wrap-up"))



def _facilitate_page(session: Session, retro_id: int, *, error: HindsightError | None = None,
                     reopen_reason: str = "") -> str:
    config = settings()
    view = documents.get_document(session, viewer=g.user, retro_id=retro_id, settings=config)
    retro = view.retro
    sections = {s.key: s for s in view.sections}
    items, _total, _next = actions.list_items(
        session, viewer=g.user, settings=config, retrospective_id=retro.id, limit=config.action_items.max_page_size,
    )
    events = timeline_rows(session, incident_id=retro.incident_id)
    mode, phases = timeline_phases(retro.incident, events, zone=config.zone)
    problem = in_words(error, labels={"reason": "Reason"}) if error is not None else None
    if problem is not None and "reason" in problem.fields:
        # The validator's note ("String should have at least 3 characters") said as the form asks it.
        problem = PageError(code=problem.code, message=problem.message,
                            fields=problem.fields | {"reason": REOPEN_REASON_NOTE})
    reasons: list[str] = []
    if error is not None and error.code == "retro_not_ready":
        year = org_now(config).year
        reasons = not_ready_in_words(
            error.extra.get("reasons", []), titles={item.id: item.title for item in items},
            when=lambda iso: when_text(iso, zone=config.zone, current_year=year),
        )
    return render_template(
        "pages/retro_facilitate.html", retro=retro, incident=retro.incident,
        ground_rules=config.retro.ground_rules, events=events, timeline_mode=mode, phases=phases,
        highlighted=highlights.highlighted_event_ids(session, retro=retro),
        ground_rules_section=sections.get("ground_rules"), timeline_section=sections.get("timeline"),
        items_section=sections.get("action_items"),
        sections=[s for s in view.sections if s.key not in LIVE_SECTIONS and s.key != "ground_rules"],
        items=items, owners=_possible_owners(retro), retro_warnings=retro.warnings,
        statuses=documents.STATUS_LABELS, priorities=list(Priority),
        max_weeks=config.action_items.max_weeks, timezone=config.timezone, today=org_today(config),
        readonly=retro.status in RetroStatus.done(), jira_url=config.jira.url.rstrip("/"), sync_words=SYNC_WORDS,
        problem=problem, reasons=reasons, reopen_reason=reopen_reason,
        poll_seconds=POLL_SECONDS, max_page_size=config.action_items.max_page_size,
        event_kinds=EVENT_KINDS, event_day=_event_day(events, retro, config.zone),
    )


def _event_day(events: list[dict], retro: Retrospective, zone) -> str:  # type: ignore[no-untyped-def]
    """The day the add-event form starts on: that of the last event, else of the resolution (organisation's zone)."""
    moment = events[-1]["occurred_at"] if events else retro.incident.resolved_at
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date().isoformat()


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
