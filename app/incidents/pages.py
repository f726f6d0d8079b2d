"""The web pages: incident list and incident with its timeline and retro summary."""

from flask import Blueprint, g, render_template

from app.auth.pages import login_required
from app.core.pages import page
from app.db import get_session
from app.incidents import service
from app.incidents.access import get_visible_incident

bp = Blueprint("incident_pages", __name__)


@bp.get("/")
@page
@login_required
def index():
    """Every incident the user may see, newest first."""
    session = get_session()
    incidents = service.list_incidents(session, viewer=g.user)
    return render_template("pages/incidents.html", incidents=incidents)


@bp.get("/incidents/<int:incident_id>")
@page
@login_required
def incident(incident_id: int):
    """One incident: facts, response team, retro summary and timeline."""
    session = get_session()
    item = get_visible_incident(session, g.user, incident_id)
    retro = item.retrospective
    events = service.timeline_rows(session, incident_id=item.id)
    return render_template(
        "pages/incident.html", incident=item, retro=retro, events=events,
        retro_warnings=retro.warnings if retro else [],
    )
