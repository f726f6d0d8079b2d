"""JSON routes for the service catalogue and teams."""

from flask import Blueprint

from app.core.api import endpoint
from app.db import get_session
from app.services import service
from app.services.schemas import (
    ServiceCreate, ServiceList, ServiceRead, ServiceUpdate, TeamCreate, TeamList, TeamRead,
)

bp = Blueprint("services_api", __name__, url_prefix="/api/v1")


@bp.post("/services")
@endpoint("Add a service to the catalogue; a team not known yet is created with it", body=ServiceCreate,
          response=ServiceRead, status=201, tags=("services",), errors=(409,))
def create_service(user, body: ServiceCreate):
    return ServiceRead.model_validate(service.create_service(get_session(), data=body))


@bp.get("/services")
@endpoint("The service catalogue, by name", response=ServiceList, tags=("services",))
def list_services(user):
    return ServiceList(items=[ServiceRead.model_validate(s) for s in service.list_services(get_session())])


@bp.get("/services/<name>")
@endpoint("One service of the catalogue", response=ServiceRead, tags=("services",))
def get_service(user, name: str):
    return ServiceRead.model_validate(service.get_service(get_session(), name))


@bp.patch("/services/<name>")
@endpoint("Change a service's owning team (null: none) or description", body=ServiceUpdate, response=ServiceRead,
          tags=("services",))
def update_service(user, name: str, body: ServiceUpdate):
    session = get_session()
    found = service.get_service(session, name)
    return ServiceRead.model_validate(service.update_service(session, service=found, data=body))


@bp.post("/teams")
@endpoint("Add a team", body=TeamCreate, response=TeamRead, status=201, tags=("services",), errors=(409,))
def create_team(user, body: TeamCreate):
    return TeamRead.model_validate(service.create_team(get_session(), name=body.name))


@bp.get("/teams")
@endpoint("Every team with the names of its services", response=TeamList, tags=("services",))
def list_teams(user):
    return TeamList(items=[TeamRead.model_validate(t) for t in service.list_teams(get_session())])
