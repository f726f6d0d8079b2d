"""JSON routes for retrospectives."""

from flask import Blueprint

from app.core.api import endpoint
from app.db import get_session
from app.extensions import settings
from app.retros import flows, service
from app.retros.schemas import RetroRead, RetroUpdate

bp = Blueprint("retros_api", __name__, url_prefix="/api/v1")


@bp.get("/retrospectives/<int:retro_id>")
@endpoint("Get a retrospective", response=RetroRead, tags=("retrospectives",))
def get_retro(user, retro_id: int):
    retro = service.get_retrospective(get_session(), viewer=user, retro_id=retro_id)
    return RetroRead.model_validate(retro)


@bp.patch("/retrospectives/<int:retro_id>")
@endpoint("Schedule a retrospective, pick its facilitator and participants", body=RetroUpdate,
          response=RetroRead, tags=("retrospectives",))
def update_retro(user, retro_id: int, body: RetroUpdate):
    session = get_session()
    retro = service.get_retrospective(session, viewer=user, retro_id=retro_id)
    flows.update_retrospective(session, retro=retro, data=body, actor=user, settings=settings())
    return RetroRead.model_validate(retro)
