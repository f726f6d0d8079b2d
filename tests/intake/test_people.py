"""PagerDuty agents matched to people: by a stored user id, or looked up once through PagerDuty's REST API."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import Factory
from tests.fakes import paging
from tests.intake.conftest import SECRETS, Senders, incident_by_external_id, timeline

AT = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def pd_api():
    api = paging.PagerDutyApi(users={"PXPGF42": "earline@example.com"})
    yield api
    api.close()


def _app(make_app, api, *, timeout=2.0, token="pd-token"):
    return make_app(**(SECRETS | {"pagerduty": SECRETS["pagerduty"] | {
        "api_token": token, "api_url": api.url, "timeout_seconds": timeout}}))


def _ack(event_id):
    return paging.pd_event("incident.acknowledged", occurred_at=AT + timedelta(minutes=5), event_id=event_id,
                           data=paging.pd_incident(created_at=AT))


def _trigger():
    return paging.pd_event("incident.triggered", occurred_at=AT, data=paging.pd_incident(created_at=AT))


def test_an_agent_is_looked_up_once_and_named_as_the_person(make_app, pd_api):
    app = _app(make_app, pd_api)
    factory = Factory(app)
    factory.person(name="Earline G.", email="earline@example.com")
    _, auth = factory.user(admin=True)
    send = Senders(app.test_client())
    send.pagerduty(_trigger())
    send.pagerduty(_ack("E-1"))
    send.pagerduty(_ack("E-2"))
    assert pd_api.requests == [("/users/PXPGF42", "Token token=pd-token")]  # once, then remembered
    [incident] = incident_by_external_id(app.test_client(), auth, "pagerduty:PGR0VU2")
    authors = {line["author"] for line in timeline(app.test_client(), auth, incident["id"])}
    assert authors == {"Earline G."}


def test_a_stored_user_id_matches_without_asking_pagerduty(make_app, pd_api):
    app = _app(make_app, pd_api)
    factory = Factory(app)
    factory.person(name="Bob Builder", email="bob@example.com")
    _, auth = factory.user(admin=True)
    client = app.test_client()
    stored = client.put("/api/v1/integrations/pagerduty/users/PXPGF42", json={"email": "Bob@example.com"}, headers=auth)
    assert stored.status_code == 200 and stored.get_json() == {"source": "pagerduty", "user_id": "PXPGF42", "email": "bob@example.com"}
    Senders(client).pagerduty(_trigger())
    assert pd_api.requests == []
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert timeline(client, auth, incident["id"])[0]["author"] == "Bob Builder"
    listed = client.get("/api/v1/integrations/pagerduty/users", headers=auth).get_json()["items"]
    assert [row["user_id"] for row in listed] == ["PXPGF42"]


def test_storing_user_ids_is_for_admins(client, factory):
    _, headers = factory.user()
    answer = client.put("/api/v1/integrations/pagerduty/users/PXPGF42", json={"email": "bob@example.com"}, headers=headers)
    assert answer.status_code == 403
    assert client.put("/api/v1/integrations/pagerduty/users/PXPGF42", json={"email": "bob@example.com"}).status_code == 401


def test_without_a_token_the_agents_name_is_the_author(send, client, auth):
    send.pagerduty(_trigger())
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert timeline(client, auth, incident["id"])[0]["author"] == "Earline Greenholt"


def test_a_hung_pagerduty_costs_one_timeout_and_keeps_the_name(make_app, pd_api):
    pd_api.delay = 2.0
    app = _app(make_app, pd_api, timeout=0.3)
    factory = Factory(app)
    factory.person(name="Earline G.", email="earline@example.com")
    _, auth = factory.user(admin=True)
    started = time.monotonic()
    answer = Senders(app.test_client()).pagerduty(_trigger())
    assert answer.status_code == 200 and time.monotonic() - started < 1.5
    [incident] = incident_by_external_id(app.test_client(), auth, "pagerduty:PGR0VU2")
    assert timeline(app.test_client(), auth, incident["id"])[0]["author"] == "Earline Greenholt"


def test_an_unknown_user_or_a_refused_token_keeps_the_name(make_app, pd_api):
    pd_api.users.clear()
    app = _app(make_app, pd_api)
    _, auth = Factory(app).user(admin=True)
    send = Senders(app.test_client())
    send.pagerduty(_trigger())
    send.pagerduty(_ack("E-1"))
    assert len(pd_api.requests) == 1  # a 404 is remembered as "no email"
    [incident] = incident_by_external_id(app.test_client(), auth, "pagerduty:PGR0VU2")
    assert {line["author"] for line in timeline(app.test_client(), auth, incident["id"])} == {"Earline Greenholt"}


def test_a_refused_token_is_not_remembered(make_app, pd_api):
    app = _app(make_app, pd_api, token="wrong")
    send = Senders(app.test_client())
    send.pagerduty(_trigger())
    send.pagerduty(_ack("E-1"))
    assert len(pd_api.requests) == 2  # tried again: the token may be fixed
