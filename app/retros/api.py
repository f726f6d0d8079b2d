"""JSON routes for retrospectives."""

from flask import Blueprint

from app.core.api import endpoint
from app.db import get_session
from app.extensions import settings
from app.retros import factors, flows, highlights, service
from app.retros.schemas import FactorCreate, FactorList, FactorRead, HighlightRead, RetroRead, RetroUpdate, Taxonomy

bp = Blueprint("retros_api", __name__, url_prefix="/api/v1")


@bp.get("/retrospectives/<int:retro_id>")
@endpoint("Get a retrospective", response=RetroRead, tags=("retrospectives",))
def get_retro(user, retro_id: int):
    retro = service.get_retrospective(get_session(), viewer=user, retro_id=retro_id)
    return RetroRead.model_validate(retro)


@bp.patch("/retrospectives/<int:retro_id>")
@endpoint("Schedule a retrospective, pick its facilitator and participants, complete or reopen it",
          body=RetroUpdate, response=RetroRead, tags=("retrospectives",))
def update_retro(user, retro_id: int, body: RetroUpdate):
    session = get_session()
    retro = service.get_retrospective(session, viewer=user, retro_id=retro_id)
    flows.update_retrospective(session, retro=retro, data=body, actor=user, settings=settings())
    return RetroRead.model_validate(retro)


@bp.put("/retrospectives/<int:retro_id>/highlights/<int:event_id>")
@endpoint("Highlight a timeline event for the retro's meeting", response=HighlightRead, tags=("retrospectives",))
def highlight_event(user, retro_id: int, event_id: int):
    session = get_session()
    retro = service.get_retrospective(session, viewer=user, retro_id=retro_id)
    highlights.set_highlight(session, retro=retro, event_id=event_id, highlighted=True, actor=user)
    return HighlightRead(event_id=event_id, highlighted=True)


@bp.delete("/retrospectives/<int:retro_id>/highlights/<int:event_id>")
@endpoint("Take a timeline event's highlight off", response=HighlightRead, tags=("retrospectives",))
def unhighlight_event(user, retro_id: int, event_id: int):
    session = get_session()
    retro = service.get_retrospective(session, viewer=user, retro_id=retro_id)
    highlights.set_highlight(session, retro=retro, event_id=event_id, highlighted=False, actor=user)
    return HighlightRead(event_id=event_id, highlighted=False)


@bp.get("/factors")
@endpoint("The contributing-factor taxonomy: categories with their kinds, keys and labels", response=Taxonomy,
          tags=("retrospectives",))
def factor_taxonomy(user):
    return factors.taxonomy(settings())


@bp.get("/retrospectives/<int:retro_id>/factors")
@endpoint("The contributing factors named in the retro, each with its note and labels", response=FactorList,
          tags=("retrospectives",))
def list_factors(user, retro_id: int):
    session = get_session()
    retro = service.get_retrospective(session, viewer=user, retro_id=retro_id)
    config = settings()
    return FactorList(items=[factors.read(row, config) for row in factors.factor_rows(session, retro=retro)])


@bp.post("/retrospectives/<int:retro_id>/factors")
@endpoint("Name a contributing factor (a key of the taxonomy, `category` or `category.kind`) with a short note",
          body=FactorCreate, response=FactorRead, status=201, tags=("retrospectives",), errors=(409,))
def add_factor(user, retro_id: int, body: FactorCreate):
    session = get_session()
    retro = service.get_retrospective(session, viewer=user, retro_id=retro_id)
    config = settings()
    row = factors.add_factor(session, retro=retro, key=body.factor, note=body.note, actor=user, settings=config)
    return factors.read(row, config)


@bp.delete("/retrospectives/<int:retro_id>/factors/<key>")
@endpoint("Take a contributing factor off the retro", status=204, tags=("retrospectives",))
def remove_factor(user, retro_id: int, key: str):
    session = get_session()
    retro = service.get_retrospective(session, viewer=user, retro_id=retro_id)
    factors.remove_factor(session, retro=retro, key=key)
    return None, 204
