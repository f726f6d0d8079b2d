"""Generic intake: any tool creates or updates an incident by its own id (`PUT /incidents/external/...`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.core.errors import Conflict, ValidationFailed
from app.incidents import flows as incidents
from app.incidents import service as incident_service
from app.incidents.access import visible_incidents
from app.incidents.models import Incident, Visibility
from app.incidents.schemas import IncidentCreate, IncidentUpdate
from app.intake.schemas import ExternalIncidentPut
from app.intake.service import external_id as make_external_id
from config import Settings

CREATE_NEEDS = ("title", "severity", "commander")
UPDATE_FIELDS = ("title", "severity", "description", "visibility", "detected_at", "links", "status", "resolved_at")


def _visible(session: Session, *, external_id: str, viewer: User) -> Incident | None:
    # A public holder first: it is the one every caller sees.
    query = (
        select(Incident).where(Incident.external_id == external_id, visible_incidents(viewer))
        .order_by((Incident.visibility == Visibility.PUBLIC).desc(), Incident.id).limit(1)
    )
    return session.scalar(query)


def put_external(
    session: Session, *, source: str, ref: str, data: ExternalIncidentPut, viewer: User, settings: Settings,
) -> tuple[Incident, bool]:
    """Create the incident `<source>:<ref>` or update the one `viewer` can see; (incident, created).

    Resolving books the retro and reopening withdraws an unscheduled one, as `PATCH /incidents/{id}` does.
    """
    external_id = make_external_id(source, ref)
    if len(external_id) > 200:
        raise ValidationFailed("The external id is too long.", fields={"external_id": "must be at most 200 characters with its source"})
    incident = _visible(session, external_id=external_id, viewer=viewer)
    if incident is None:
        try:
            return _create(session, external_id=external_id, data=data, viewer=viewer, settings=settings), True
        except Conflict:
            # Another request created it a moment ago: this one updates it.
            incident = _visible(session, external_id=external_id, viewer=viewer)
            if incident is None:
                raise
    _update(session, incident=incident, data=data, viewer=viewer, settings=settings)
    return incident, False


def _create(session: Session, *, external_id: str, data: ExternalIncidentPut, viewer: User, settings: Settings) -> Incident:
    missing = {name: "is required to create the incident" for name in CREATE_NEEDS if getattr(data, name) is None}
    if missing:
        raise ValidationFailed(f"No incident has this external id yet; creating one needs {', '.join(missing)}.",
                               fields=missing)
    fields = data.model_dump(exclude_unset=True, exclude={"status", "resolved_at"})
    if fields.get("links") is None:
        fields.pop("links", None)
    create = IncidentCreate.model_validate(fields | {"external_id": external_id})
    incident = incident_service.create_incident(session, data=create, viewer=viewer)
    if data.status is not None or data.resolved_at is not None:
        _update(session, incident=incident, data=data.model_copy(update={"title": None}), viewer=viewer, settings=settings)
    return incident


def _update(session: Session, *, incident: Incident, data: ExternalIncidentPut, viewer: User, settings: Settings) -> None:
    given = data.model_fields_set
    if data.started_at is not None and data.started_at != incident.started_at:
        latest = incident.resolved_at or data.resolved_at
        if latest is not None and data.started_at > latest:
            raise ValidationFailed("started_at is after resolved_at.", fields={"started_at": "must not be after resolved_at"})
        incident.started_at = data.started_at
    if data.commander is not None and (incident.commander is None or incident.commander.email != data.commander):
        incidents.add_role(session, incident=incident, email=data.commander, role="commander", actor=viewer)
    changes = {name: getattr(data, name) for name in UPDATE_FIELDS if name in given and getattr(data, name) is not None}
    if changes:
        incidents.update_incident(session, incident=incident, data=IncidentUpdate.model_validate(changes),
                                  actor=viewer, settings=settings)
