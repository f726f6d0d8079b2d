"""HTML pages around a retro: the facilitation page (the meeting); the scheduling form is in schedule_pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from app.actions import service as actions
from app.actions.models import Priority
from app.auth.pages import login_required
from app.core.api import validate
from app.core.dates import org_now, org_today
from app.core.errors import HindsightError
from app.core.pages import page
from app.core.templating import when_text
from app.core.wording import PageError, in_words
from app.db import get_session
from app.documents import service as documents
from app.documents.models import LIVE_SECTIONS
from app.extensions import settings
from app.incidents.service import timeline_for_reading
from app.people.models import Person
from app.retros import factors, flows, highlights, service
from app.retros.meeting import rows_html, timeline_phases
from app.retros.models import RetroStatus, Retrospective
from app.retros.schemas import FactorCreate, RetroReopen
from app.retros.wording import not_ready_in_words
from app.search.related import recurrences

bp = Blueprint("retro_pages", __name__)

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
        flows.complete_retrospective(session, retro=retro, actor=g.user, settings=settings())
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
        flows.reopen_retrospective(session, retro=retro, actor=g.user, reason=data.reason, settings=settings())
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _facilitate_page(session, retro_id, error=exc, reopen_reason=typed), 422
    flash("The retro is reopened: its sections and action items can be changed again.")
    return redirect(url_for("retro_pages.facilitate", retro_id=retro_id, _anchor="wrap-up"))

@bp.post("/retrospectives/<int:retro_id>/factors")
@page
@login_required
def add_factor(retro_id: int):
    """Name a contributing factor with its note (the Contributing factors part of the discussion)."""
    session = get_session()
    retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
    typed = {name: (request.form.get(name) or "").strip() for name in ("factor", "note")}
    try:
        data = validate(FactorCreate, {name: value for name, value in typed.items() if value or name == "factor"})
        row = factors.add_factor(session, retro=retro, key=data.factor, note=data.note, actor=g.user,
                                 settings=settings())
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _facilitate_page(session, retro_id, error=exc, factor_typed=typed), 422
    flash(f"Contributing factor named: {factors.read(row, settings()).label}.")
    return redirect(url_for("retro_pages.facilitate", retro_id=retro_id, open="factors", _anchor="factors"))


@bp.post("/retrospectives/<int:retro_id>/factors/<key>/remove")
@page
@login_required
def remove_factor(retro_id: int, key: str):
    """Take a contributing factor off the retro."""
    session = get_session()
    retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
    try:
        factors.remove_factor(session, retro=retro, key=key)
    except HindsightError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _facilitate_page(session, retro_id, error=exc), 422
    flash("The contributing factor is taken off.")
    return redirect(url_for("retro_pages.facilitate", retro_id=retro_id, open="factors", _anchor="factors"))


def _facilitate_page(session: Session, retro_id: int, *, error: HindsightError | None = None,
                     reopen_reason: str = "", factor_typed: dict[str, str] | None = None) -> str:
    config = settings()
    # The sections as saved, not the assembled document: the page shows the live tables itself,
    # and assembling them (5,000 events in Markdown) would cost more than the whole page.
    retro = service.get_retrospective(session, viewer=g.user, retro_id=retro_id)
    all_sections = documents.sections_of(session, retro.id)
    sections = {s.key: s for s in all_sections}
    items, _total, _next = actions.list_items(
        session, viewer=g.user, settings=config, retrospective_id=retro.id, limit=config.action_items.max_page_size,
    )
    events = timeline_for_reading(session, incident_id=retro.incident_id)
    mode, phases = timeline_phases(retro.incident, events, zone=config.zone, year=org_now(config).year)
    problem = in_words(error, labels={"reason": "Reason", "factor": "Factor", "note": "Note"}) if error is not None else None
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
        sections=[s for s in all_sections if s.key not in LIVE_SECTIONS and s.key != "ground_rules"],
        items=items, owners=_possible_owners(retro), retro_warnings=retro.warnings,
        statuses=documents.STATUS_LABELS, priorities=list(Priority),
        max_weeks=config.action_items.max_weeks, timezone=config.timezone, today=org_today(config),
        readonly=retro.status in RetroStatus.done(), jira_url=config.jira.url.rstrip("/"), sync_words=SYNC_WORDS,
        problem=problem, reasons=reasons, reopen_reason=reopen_reason,
        poll_seconds=POLL_SECONDS, max_page_size=config.action_items.max_page_size,
        event_kinds=EVENT_KINDS, event_rows=rows_html, event_day=_event_day(events, retro, config.zone),
        factors=[factors.read(row, config) for row in factors.factor_rows(session, retro=retro)],
        taxonomy=factors.taxonomy(config), factor_typed=factor_typed or {"factor": "", "note": ""},
        discussion_open=factor_typed is not None or request.args.get("open") == "factors",
        recurrences=recurrences(session, incident=retro.incident, viewer=g.user),
    )


def _event_day(events: Sequence[Any], retro: Retrospective, zone) -> str:  # type: ignore[no-untyped-def]
    """The day the add-event form starts on: that of the last event, else of the resolution (organisation's zone)."""
    moment = events[-1].occurred_at if events else retro.incident.resolved_at
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
