"""Fixtures for action items: a Jira stand-in on loopback and the app configured to use it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.fakes import on_preferred_port
from tests.fakes.jira import FakeJira

WEBHOOK_SECRET = "webhook-secret"
OWNER = "olivia.owner@example.com"


@pytest.fixture
def jira_deployment() -> str:
    """Override (or parametrize) to run against the Cloud flavour."""
    return "Server"


@pytest.fixture
def jira(jira_deployment: str) -> Iterator[FakeJira]:
    fake = on_preferred_port("jira", lambda port: FakeJira(deployment=jira_deployment, hang_seconds=1.0, port=port).start())
    fake.add_user(OWNER, name="olivia")
    fake.add_user("sam.second@example.com", name="sam")
    yield fake
    fake.close()


@pytest.fixture
def jira_settings(jira: FakeJira) -> dict[str, Any]:
    return {
        "url": jira.url, "project": "HS", "user": "bot@example.com", "token": "api-token",
        "webhook_secret": WEBHOOK_SECRET, "timeout_seconds": 0.4, "retry_base_seconds": 30,
        "retry_max_seconds": 600,
    }


@pytest.fixture
def settings_overrides(jira_settings: dict[str, Any]) -> dict[str, Any]:
    return {"jira": jira_settings}


def in_days(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


@pytest.fixture
def retro(factory, auth) -> dict[str, Any]:
    """A resolved public incident's retro, with the owner and a second person known to Hindsight."""
    factory.person(email=OWNER, name="Olivia Owner")
    factory.person(email="sam.second@example.com", name="Sam Second")
    _incident, retro = factory.resolved_incident(auth)
    return retro


@pytest.fixture
def make_item(client, auth, retro):
    def make(**overrides: Any) -> dict[str, Any]:
        body = {"title": "Add a canary for checkout", "owner": OWNER, "due_date": in_days(10)} | overrides
        response = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", json=body, headers=auth)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def outbox_rows(app):  # type: ignore[no-untyped-def]
    from app.actions.models import JiraOutbox
    from app.db import database

    factory = database(app).session_factory
    with factory() as session:
        return list(session.scalars(select(JiraOutbox).order_by(JiraOutbox.id)))


def run_sync(app, *, force: bool = False):  # type: ignore[no-untyped-def]
    """One sync run as the scheduler's job runs it (in a job session)."""
    from app.actions.jobs import jira_sync_job
    from app.db import job_session
    from app.extensions import settings

    with job_session(app) as session:
        return jira_sync_job(session, settings=settings(app)) if not force else _forced(session, app)


def _forced(session, app):  # type: ignore[no-untyped-def]
    from app.actions.sync import run_sync as run, session_factory_for
    from app.extensions import settings

    return run(session_factory_for(session), settings=settings(app), force=True).as_dict()


@pytest.fixture
def factory_for(auth):  # type: ignore[no-untyped-def]
    """(client, admin headers, retro) on another app built from the same database."""
    from tests.conftest import Factory

    def build(app):  # type: ignore[no-untyped-def]
        helper = Factory(app)
        helper._n = 1000
        helper.person(email=OWNER, name="Olivia Owner")
        _incident, retro = helper.resolved_incident(auth)
        return app.test_client(), auth, retro

    return build
