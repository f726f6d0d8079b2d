"""GET /api/v1/search and GET /api/v1/incidents/{id}/related."""

from flask import Blueprint

from app.core.api import endpoint
from app.core.errors import ValidationFailed
from app.db import get_session
from app.extensions import settings
from app.incidents.access import get_visible_incident
from app.search.related import related_incidents
from app.search.schemas import RelatedIncident, RelatedList, SearchHit, SearchList, SearchQuery
from app.search.service import Filters, search

bp = Blueprint("search_api", __name__, url_prefix="/api/v1")


@bp.get("/search")
@endpoint("Find words in the incidents, timelines, retro documents and action items you may see, best first",
          query=SearchQuery, response=SearchList, tags=("search",))
def search_all(user, query: SearchQuery):
    if query.since and query.until and query.since > query.until:
        raise ValidationFailed("The period ends before it starts.", fields={"since": "must not be after until"})
    filters = Filters(severity=query.severity, status=query.status, since=query.since, until=query.until,
                      service=query.service, factor=query.factor)
    result = search(get_session(), viewer=user, text=query.q, filters=filters, settings=settings(),
                    limit=query.limit, counted=False)
    items = [SearchHit(kind=hit.kind, incident_id=hit.incident_id, title=hit.title,  # type: ignore[arg-type]
                       snippet=str(hit.snippet)) for hit in result.hits]
    return SearchList(items=items)


@bp.get("/incidents/<int:incident_id>/related")
@endpoint("The incidents you may see most like this one (shared services, contributing factors, words), "
          "most alike first", response=RelatedList, tags=("search",))
def related(user, incident_id: int):
    session = get_session()
    incident = get_visible_incident(session, user, incident_id)
    found = related_incidents(session, incident=incident, viewer=user, settings=settings())
    return RelatedList(items=[
        RelatedIncident(incident_id=r.incident.id, title=r.incident.title, reasons=r.reasons,
                        retro_status=r.retro_status, open_action_items=r.open_items)  # type: ignore[arg-type]
        for r in found])
