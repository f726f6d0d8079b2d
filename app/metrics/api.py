"""GET /api/v1/metrics."""

from flask import Blueprint

from app.core.api import endpoint
from app.core.errors import ValidationFailed
from app.db import get_session
from app.extensions import settings
from app.metrics.schemas import Metrics, MetricsQuery
from app.metrics.service import compute_metrics

bp = Blueprint("metrics_api", __name__, url_prefix="/api/v1")


@bp.get("/metrics")
@endpoint("Retro and action-item figures for incidents resolved in a period", query=MetricsQuery,
          response=Metrics, tags=("metrics",))
def metrics(user, query: MetricsQuery):
    if query.since and query.until and query.since > query.until:
        raise ValidationFailed("The period ends before it starts.", fields={"since": "must not be after until"})
    return compute_metrics(get_session(), viewer=user, since=query.since, until=query.until, settings=settings())
