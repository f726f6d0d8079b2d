"""Fixtures of the reminder tests: a real SMTP server on loopback and action items to remind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask

from app.db import get_session
from tests.fakes.smtp import FakeSmtp, smtp_server  # noqa: F401  (fixture)

GROUND_RULES = ["Blame the system, not people.", "Everyone <speaks> & listens."]


@pytest.fixture
def settings_overrides(smtp_server: FakeSmtp) -> dict[str, Any]:  # noqa: F811
    return {
        "smtp": smtp_server.settings(),
        "mail_from": "hindsight@example.com",
        "jira": {"url": "https://jira.example.com"},
        "retro": {"facilitator_pool": ["facilitator@example.com"], "ground_rules": GROUND_RULES},
        # hour 0: the digest job runs whatever the hour the suite runs at (its own test checks the hour)
        "reminders": {"retry_minutes": 0, "hour": 0},
    }


def today() -> date:
    return datetime.now(timezone.utc).date()


@pytest.fixture
def make_item(app: Flask) -> Callable[..., int]:
    """An action item on `retro_id`, inserted as the actions domain stores it; returns its id."""
    from app.actions.models import ActionItem
    from app.people.service import find_person

    def make(retro_id: int, owner: str, due: date | int, **fields: Any) -> int:
        due_date = today() + timedelta(days=due) if isinstance(due, int) else due
        with app.app_context():
            session = get_session()
            person = find_person(session, owner)
            assert person is not None, owner
            item = ActionItem(retrospective_id=retro_id, title=fields.pop("title", f"Fix it by {due_date}"),
                              owner_id=person.id, due_date=due_date, **fields)
            session.add(item)
            session.commit()
            return item.id

    return make


@pytest.fixture
def resolved(factory, auth) -> Callable[..., tuple[dict[str, Any], dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """A resolved incident and its retro; the commander is a new person."""

    def make(**overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return factory.resolved_incident(auth, **overrides)

    return make
