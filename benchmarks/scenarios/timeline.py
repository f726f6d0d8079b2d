"""GET /api/v1/incidents/{id}/timeline for 5,000 events, against one raw SQL query + json.dumps."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, text

from benchmarks.common import Outcome, make_app, median_seconds, scratch_postgres

NAME = "timeline"
DESCRIPTION = "timeline API for an incident of 5,000 events on PostgreSQL vs raw SQL + json.dumps"
EVENTS = 5000
TARGET_RATIO = 3.0


def run() -> dict[str, Outcome]:
    from app.auth.service import create_token, create_user
    from app.db import database, get_session
    from app.incidents.models import TimelineEvent
    from app.incidents.schemas import IncidentCreate
    from app.incidents.service import create_incident

    with scratch_postgres() as url, tempfile.TemporaryDirectory() as instance:
        app = make_app(url, instance)
        start = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
        with app.app_context():
            session = get_session()
            user = create_user(session, email="bench@example.com", is_admin=True)
            token = create_token(session, user=user)
            incident = create_incident(session, data=IncidentCreate(
                title="Benchmark incident", severity="SEV1", commander="bench@example.com", started_at=start,
            ))
            session.execute(insert(TimelineEvent), [
                {"incident_id": incident.id, "occurred_at": start + timedelta(seconds=7 * i),
                 "text": f"Event {i}: checked the replication lag on orders-db and posted the figure",
                 "author": "sre@example.com", "kind": "note", "source": "bench", "external_id": f"b-{i}"}
                for i in range(EVENTS)
            ])
            session.commit()
            incident_id = incident.id

        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/api/v1/incidents/{incident_id}/timeline"

        def api() -> None:
            response = client.get(path, headers=headers)
            assert response.status_code == 200 and len(response.get_json()["items"]) == EVENTS

        engine = database(app).engine
        sql = text(
            "SELECT id, occurred_at, text, author, kind, source, external_id FROM timeline_events "
            "WHERE incident_id = :id ORDER BY occurred_at, id"
        )

        def baseline() -> None:
            with engine.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(sql, {"id": incident_id})]
            body = json.dumps({"items": rows}, default=str)
            assert len(rows) == EVENTS and body

        api_s = median_seconds(api, repeat=9)
        base_s = median_seconds(baseline, repeat=9)
        engine.dispose()
    ratio = api_s / base_s
    return {
        "timeline_api_5000": Outcome(
            metrics={"median_ms": round(api_s * 1000, 2), "baseline_ms": round(base_s * 1000, 2), "ratio": round(ratio, 2)},
            target=TARGET_RATIO, ok=ratio <= TARGET_RATIO,
        )
    }
