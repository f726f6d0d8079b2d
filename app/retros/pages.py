"""HTML pages around a retro: the facilitation page (the meeting); the scheduling form is in schedule_pages."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from app.actions import service as actions
from app.actions.models import Priority
from app.auth.pages import login_required
from app.core.dates import org_today
from app.core.pages import page
from app.db import get_session
from app.documents import service as documents
from app.documents.models import LIVE_SECTIONS
from app.extensions import settings
from app.incidents.service import timeline_rows
from app.people.models import Person
from app.retros.models import Retrospective

bp = Blueprint("retro_pages", __name__)


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
