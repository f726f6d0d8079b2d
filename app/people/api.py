"""JSON routes for people."""

from flask import Blueprint

from app.core.api import endpoint
from app.db import get_session
from app.people import service
from app.people.schemas import PersonCreate, PersonList, PersonRead

bp = Blueprint("people_api", __name__, url_prefix="/api/v1")


@bp.post("/people")
@endpoint("Add a person", body=PersonCreate, response=PersonRead, status=201, tags=("people",), errors=(409,))
def create_person(user, body: PersonCreate):
    person = service.create_person(get_session(), **body.model_dump())
    return PersonRead.model_validate(person)


@bp.get("/people")
@endpoint("List people", response=PersonList, tags=("people",))
def list_people(user):
    return PersonList(items=[PersonRead.model_validate(p) for p in service.list_people(get_session())])
