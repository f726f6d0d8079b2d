"""JSON routes for retrospectives."""

from flask import Blueprint

from app.core.api import endpoint
from app.db import get_session
from app.extensions import settings
from app.retros import flows, highlights, service
from app.retros.schemas import HighlightRead, RetroRead, RetroUpdate

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
