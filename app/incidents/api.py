"""JSON routes for incidents, roles and timelines."""

from flask import Blueprint, Response, json

from app.core.api import endpoint
from app.db import get_session
from app.extensions import settings
from app.incidents import flows, service
from app.incidents.access import get_visible_incident
from app.incidents.schemas import (
    EventList, EventRead, EventsAdded, EventsCreate, IncidentCreate, IncidentList,
    IncidentQuery, IncidentRead, IncidentUpdate, RoleCreate, RoleRead,
)
from app.retros.schemas import RetroRead
from app.retros.service import retro_for_incident

bp = Blueprint("incidents_api", __name__, url_prefix="/api/v1")


@bp.post("/incidents")
@endpoint("Open an incident", body=IncidentCreate, response=IncidentRead, status=201, tags=("incidents",),
          errors=(409,))
def create_incident(user, body: IncidentCreate):
    incident = service.create_incident(get_session(), data=body, viewer=user)
    return IncidentRead.model_validate(incident)


@bp.get("/incidents")
@endpoint("List the incidents you may see", query=IncidentQuery, response=IncidentList, tags=("incidents",))
def list_incidents(user, query: IncidentQuery):
    session = get_session()
    incidents = service.list_incidents(session, viewer=user, status=query.status, severity=query.severity)
    return IncidentList(items=[IncidentRead.model_validate(i) for i in incidents])


@bp.get("/incidents/<int:incident_id>")
@endpoint("Get an incident with its roles", response=IncidentRead, tags=("incidents",))
def get_incident(user, incident_id: int):
    incident = get_visible_incident(get_session(), user, incident_id)
    return IncidentRead.model_validate(incident)


@bp.patch("/incidents/<int:incident_id>")
@endpoint("Update an incident; resolving it books the retrospective", body=IncidentUpdate,
          response=IncidentRead, tags=("incidents",))
def update_incident(user, incident_id: int, body: IncidentUpdate):
    session = get_session()
    incident = get_visible_incident(session, user, incident_id)
    flows.update_incident(session, incident=incident, data=body, actor=user, settings=settings())
    return IncidentRead.model_validate(incident)


@bp.post("/incidents/<int:incident_id>/roles")
@endpoint("Give someone a role (a handoff for commander, scribe, communications lead)",
          body=RoleCreate, response=RoleRead, status=201, tags=("incidents",))
def add_role(user, incident_id: int, body: RoleCreate):
    session = get_session()
    incident = get_visible_incident(session, user, incident_id)
    role, _created = flows.add_role(
        session, incident=incident, email=body.email, role=body.role, started_at=body.started_at,
        actor=user, override_reason=body.override_reason,
    )
    return RoleRead.model_validate(role)


@bp.post("/incidents/<int:incident_id>/timeline")
@endpoint("Add one timeline event or a list; a known external_id is not added twice",
          body=EventsCreate, response=EventsAdded, status=201, tags=("timeline",))
def add_events(user, incident_id: int, body):
    session = get_session()
    incident = get_visible_incident(session, user, incident_id)
    events = body if isinstance(body, list) else [body]
    added, duplicates = service.add_events(session, incident=incident, events=events)
    return EventsAdded(
        items=[EventRead.model_validate(e) for e in added],
        created=len(added) - duplicates, duplicates=duplicates,
    )


@bp.get("/incidents/<int:incident_id>/timeline")
@endpoint("The incident's timeline in time order", response=EventList, tags=("timeline",))
def get_timeline(user, incident_id: int):
    session = get_session()
    incident = get_visible_incident(session, user, incident_id)
    rows = service.timeline_rows(session, incident_id=incident.id)
    for row in rows:
        row["occurred_at"] = row["occurred_at"].isoformat().replace("+00:00", "Z")
    # Rows are already plain data: skip model validation on this hot path.
    return Response(json.dumps({"items": rows}), mimetype="application/json")


@bp.get("/incidents/<int:incident_id>/retrospective")
@endpoint("The incident's retrospective", response=RetroRead, tags=("retrospectives",))
def get_incident_retro(user, incident_id: int):
    session = get_session()
    incident = get_visible_incident(session, user, incident_id)
    retro = retro_for_incident(session, incident=incident)
    return RetroRead.model_validate(retro)
