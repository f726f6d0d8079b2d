"""The search page: one box (also in every page's navigation), filters, and what was found, best first."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request, url_for

from app.auth.pages import login_required
from app.core.api import validate
from app.core.errors import ValidationFailed
from app.core.pages import page
from app.core.wording import in_words
from app.db import get_session
from app.extensions import settings
from app.incidents.models import IncidentStatus, Severity
from app.retros.factors import choices as factor_choices
from app.search.schemas import SearchQuery
from app.search.service import Filters, Hit, SearchResult, search
from app.services.service import service_names

bp = Blueprint("search_pages", __name__)

FIELDS = ("q", "severity", "status", "since", "until", "service", "factor")
LABELS = {"q": "Search for", "severity": "Severity", "status": "Incident status", "since": "Started from",
          "until": "Started until", "service": "Service", "factor": "Contributing factor"}
# In KINDS order, as results with equal scores come.
KIND_WORDS = {"incident": ("incident", "incidents"), "section": ("retro document section", "retro document sections"),
              "action_item": ("action item", "action items"), "event": ("timeline event", "timeline events")}
RESULTS = 30
FIELD_NOTES = {"q": "Type at most 500 characters, on one line.", "severity": "Pick a severity from the list.",
               "status": "Pick a status from the list.", "since": "Give a real day, or leave this empty.",
               "until": "Give a real day, or leave this empty.", "service": "Pick a service from the list.",
               "factor": "Pick a contributing factor from the list."}


def hit_link(hit: Hit) -> str:
    """Where a hit is read: the incident, its timeline, the retro document or the action item."""
    if hit.kind == "event":
        return url_for("incident_pages.incident", incident_id=hit.incident_id, _anchor="timeline")
    if hit.kind == "section" and hit.retrospective_id is not None:
        return url_for("documents_pages.document", retro_id=hit.retrospective_id)
    if hit.kind == "action_item":
        return url_for("actions_pages.item", item_id=hit.ref_id)
    return url_for("incident_pages.incident", incident_id=hit.incident_id)


def counts_in_words(result: SearchResult) -> str:
    """{"event": 2, "incident": 1} → "1 incident and 2 timeline events"."""
    parts = [f"{result.counts[kind]} {KIND_WORDS[kind][result.counts[kind] != 1]}"
             for kind in KIND_WORDS if result.counts.get(kind)]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@bp.get("/search")
@page
@login_required
def search_page():
    """What was asked for, in the incidents the user may see; the form again with notes if it cannot be read."""
    typed = {name: request.args.get(name, "").strip() for name in FIELDS}
    asked: dict[str, Any] = {name: value for name, value in typed.items() if value}
    result, problem = None, None
    if typed["q"]:
        try:
            try:
                query = validate(SearchQuery, asked | {"limit": RESULTS}, what="search")
            except ValidationFailed as exc:
                exc.fields = {name: FIELD_NOTES.get(name, note) for name, note in exc.fields.items()}
                raise
            if query.since and query.until and query.since > query.until:
                raise ValidationFailed("The period ends before it starts.",
                                       fields={"until": "The end of the period must not be before its start."})
            filters = Filters(severity=query.severity, status=query.status, since=query.since, until=query.until,
                              service=query.service, factor=query.factor)
            result = search(get_session(), viewer=g.user, text=query.q, filters=filters, settings=settings(),
                            limit=RESULTS)
        except ValidationFailed as exc:
            problem = in_words(exc, labels=LABELS)
    html = render_template("pages/search.html", typed=typed, result=result, problem=problem, link=hit_link,
                           counts=counts_in_words, kinds=KIND_WORDS, severities=list(Severity),
                           statuses=list(IncidentStatus), shown=RESULTS, services=service_names(get_session()),
                           factors=list(factor_choices(settings()).values()))
    return html, (422 if problem else 200)
