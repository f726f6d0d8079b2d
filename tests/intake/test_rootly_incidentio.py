"""Rootly and incident.io webhooks: created, resolved, once, with replay protection."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.fakes import paging
from tests.intake.conftest import ROOTLY_SECRET, incident_by_external_id, timeline

MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
STARTED = MONDAY - timedelta(hours=2)
RID = "b7eed587-50e6-44fe-b010-7a2bb05d737a"


def test_rootly_created_then_resolved_books_the_retro(send, client, auth):
    created = paging.rootly_event("incident.created", issued_at=STARTED, data=paging.rootly_incident(started_at=STARTED))
    assert send.rootly(created).get_json()["outcome"] == "applied"
    [incident] = incident_by_external_id(client, auth, f"rootly:{RID}")
    assert incident["title"] == "Sparkling Frost" and incident["severity"] == "SEV2"  # "SEV1" is no name in the map
    assert incident["started_at"] == "2026-11-30T08:00:00Z"
    resolved = paging.rootly_event("incident.resolved", issued_at=MONDAY + timedelta(seconds=3),
                                   data=paging.rootly_incident(started_at=STARTED, resolved_at=MONDAY, status="resolved"))
    send.rootly(resolved)
    send.rootly(resolved)
    [incident] = incident_by_external_id(client, auth, f"rootly:{RID}")
    assert incident["resolved_at"] == "2026-11-30T10:00:00Z"
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    assert retro["deadline_at"] == "2026-12-03T10:00:00Z"
    assert [line["source"] for line in timeline(client, auth, incident["id"])] == ["rootly", "rootly"]


def test_rootly_severity_names_go_through_the_map(make_app):
    from tests.conftest import Factory
    from tests.intake.conftest import SECRETS, Senders

    app = make_app(**(SECRETS | {"severity_map": "SEV1=SEV1,critical=SEV0"}))
    _, auth = Factory(app).user(admin=True)
    Senders(app.test_client()).rootly(paging.rootly_event(
        "incident.created", issued_at=STARTED, data=paging.rootly_incident(started_at=STARTED, severity="Critical")))
    [incident] = incident_by_external_id(app.test_client(), auth, f"rootly:{RID}")
    assert incident["severity"] == "SEV0"


def test_a_private_rootly_incident_stays_private(send, client, auth, factory):
    send.rootly(paging.rootly_event("incident.created", issued_at=STARTED,
                                    data=paging.rootly_incident(started_at=STARTED, private=True)))
    [incident] = incident_by_external_id(client, auth, f"rootly:{RID}")
    assert incident["visibility"] == "private"
    _, outsider = factory.user()
    assert client.get(f"/api/v1/incidents/{incident['id']}", headers=outsider).status_code == 404


@pytest.mark.parametrize("age", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_rootly_refuses_a_replayed_or_future_timestamp(send, client, auth, age):
    answer = send.rootly(paging.rootly_event("incident.created", issued_at=STARTED,
                                             data=paging.rootly_incident(started_at=STARTED)),
                         timestamp=int(time.time() - age.total_seconds()))
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "stale_signature"
    assert incident_by_external_id(client, auth, f"rootly:{RID}") == []


def test_rootly_refuses_a_bad_signature(client, auth):
    body = paging.body_of(paging.rootly_event("incident.created", issued_at=STARTED,
                                              data=paging.rootly_incident(started_at=STARTED)))
    headers = paging.sign_rootly(body, "not-the-secret")
    answer = client.post("/api/v1/integrations/rootly/webhook", data=body, headers=headers)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "invalid_signature"
    tampered = paging.sign_rootly(body, ROOTLY_SECRET)
    answer = client.post("/api/v1/integrations/rootly/webhook", data=body + b" ", headers=tampered)
    assert answer.status_code == 401


def test_rootly_unknown_events_are_ignored(send, client, auth):
    answer = send.rootly(paging.rootly_event("pulse.created", issued_at=STARTED, data={"id": "x"}))
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "ignored"


IID = "01FDAG4SAP5TYPT98WGR2N7W91"


def test_incidentio_created_then_resolved_books_the_retro(send, client, auth):
    created = paging.incidentio_event("public_incident.incident_created_v2",
                                      paging.incidentio_incident(created_at=STARTED, severity="P2"))
    assert send.incidentio(created, message_id="msg_1").get_json()["outcome"] == "applied"
    assert send.incidentio(created, message_id="msg_1").get_json()["outcome"] == "duplicate"
    [incident] = incident_by_external_id(client, auth, f"incidentio:{IID}")
    assert incident["title"] == "Our database is sad" and incident["severity"] == "SEV1"
    assert incident["links"][0]["url"] == "https://app.incident.io/incidents/123"
    resolved = paging.incidentio_event("public_incident.incident_updated_v2", paging.incidentio_incident(
        created_at=STARTED, updated_at=MONDAY, category="closed", severity="P2"))
    send.incidentio(resolved, message_id="msg_2")
    [incident] = incident_by_external_id(client, auth, f"incidentio:{IID}")
    assert incident["status"] == "resolved" and incident["resolved_at"] == "2026-11-30T10:00:00Z"
    assert client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).status_code == 200


def test_a_private_incidentio_incident_is_private_with_a_placeholder_title(send, client, auth):
    send.incidentio({"event_type": "private_incident.incident_created_v2",
                     "private_incident.incident_created_v2": {"id": IID}})
    [incident] = incident_by_external_id(client, auth, f"incidentio:{IID}")
    assert incident["visibility"] == "private" and incident["title"] == f"incident.io incident {IID}"


def test_incidentio_refuses_replays_and_bad_signatures(send, client, auth):
    created = paging.incidentio_event("public_incident.incident_created_v2", paging.incidentio_incident(created_at=STARTED))
    old = send.incidentio(created, timestamp=int(time.time()) - 301)
    assert old.status_code == 401 and old.get_json()["error"]["code"] == "stale_signature"
    body = paging.body_of(created)
    headers = paging.sign_incidentio(body, paging.incidentio_secret(b"another-key"))
    assert client.post("/api/v1/integrations/incidentio/webhook", data=body, headers=headers).status_code == 401
    headers = paging.sign_incidentio(body, paging.incidentio_secret())
    headers["webhook-id"] = "msg_other"  # the id is signed too
    assert client.post("/api/v1/integrations/incidentio/webhook", data=body, headers=headers).status_code == 401
    assert incident_by_external_id(client, auth, f"incidentio:{IID}") == []


def test_incidentio_accepts_any_of_several_signatures(client, auth):
    created = paging.incidentio_event("public_incident.incident_created_v2", paging.incidentio_incident(created_at=STARTED))
    body = paging.body_of(created)
    headers = paging.sign_incidentio(body, paging.incidentio_secret())
    headers["webhook-signature"] = "v1,bm90LXRoaXMtb25l " + headers["webhook-signature"]
    assert client.post("/api/v1/integrations/incidentio/webhook", data=body, headers=headers).status_code == 200


def test_incidentio_other_events_are_ignored(send):
    answer = send.incidentio({"event_type": "public_incident.follow_up_created_v1",
                              "public_incident.follow_up_created_v1": {"id": "x"}})
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "ignored"


def test_incidentio_updates_after_the_resolution_keep_its_time(send, client, auth):
    send.incidentio(paging.incidentio_event("public_incident.incident_created_v2",
                                            paging.incidentio_incident(created_at=STARTED)))
    for minutes, message in ((0, "msg_a"), (90, "msg_b")):
        answer = send.incidentio(paging.incidentio_event("public_incident.incident_updated_v2", paging.incidentio_incident(
            created_at=STARTED, updated_at=MONDAY + timedelta(minutes=minutes), category="closed")), message_id=message)
        assert answer.status_code == 200 and answer.get_json()["outcome"] != "duplicate"
    [incident] = incident_by_external_id(client, auth, f"incidentio:{IID}")
    assert incident["resolved_at"] == "2026-11-30T10:00:00Z"


@pytest.mark.parametrize("payload", [
    [],
    {"event": {"type": "incident.created", "issued_at": "2026-11-30T08:00:00Z"}, "data": {"id": "x"}},
    {"event": {"id": "e1", "type": "incident.created", "issued_at": "2026-11-30T08:00:00Z"}, "data": {}},
    {"event": {"id": "e1", "type": "incident.created", "issued_at": "not a time"}, "data": {"id": "x"}},
    {"event": {"id": "e\u0000", "type": "incident.created", "issued_at": "2026-11-30T08:00:00Z"}, "data": {"id": "x"}},
])
def test_rootly_malformed_bodies_are_400_and_store_nothing(send, client, auth, payload):
    answer = send.rootly(payload)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "malformed_webhook"
    assert client.get("/api/v1/incidents", headers=auth).get_json()["items"] == []


@pytest.mark.parametrize("payload", [
    {"event_type": 5},
    {"event_type": "public_incident.incident_created_v2"},
    {"event_type": "public_incident.incident_created_v2", "public_incident.incident_created_v2": {"name": "no id"}},
])
def test_incidentio_malformed_bodies_are_400_and_store_nothing(send, client, auth, payload):
    answer = send.incidentio(payload)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "malformed_webhook"
    assert client.get("/api/v1/incidents", headers=auth).get_json()["items"] == []
