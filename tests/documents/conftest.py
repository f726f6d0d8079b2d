"""Helpers for document tests: incidents resolved through the API, action items as rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from app.db import get_session


def document(client, retro_id: int, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(f"/api/v1/retrospectives/{retro_id}/document", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in doc["sections"] if s["key"] == key)


def add_action_item(app, retro_id: int, owner_email: str, **fields: Any) -> int:
    """An action item row (the actions domain owns the API; the document only reads items)."""
    from app.actions.models import ActionItem
    from app.people.service import find_person

    with app.app_context():
        session = get_session()
        owner = find_person(session, owner_email)
        values = {"title": "Add an alert", "due_date": date.today() + timedelta(days=7), "status": "open"} | fields
        item = ActionItem(retrospective_id=retro_id, owner_id=owner.id, **values)
        session.add(item)
        session.commit()
        return item.id


@pytest.fixture
def resolved(factory, auth, client):
    """Resolve an incident (with fields) through the API and return (incident, retro)."""

    def make(**overrides: Any):
        return factory.resolved_incident(auth, **overrides)

    return make


@pytest.fixture
def outsider(factory):
    """A signed-in user who held no role anywhere: private incidents are 404 to them."""
    return factory.user(email="outsider@example.com", name="Otto Outsider")


def at(minutes: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=3) + timedelta(minutes=minutes)).isoformat()
