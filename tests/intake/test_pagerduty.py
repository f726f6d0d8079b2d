"""PagerDuty v3 webhooks: each event type, once, in any order, signed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.fakes import paging
from tests.intake.conftest import PD_SECRET, incident_by_external_id, timeline

# A Monday: three working days later is Thursday at the same time.
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)


def _triggered(at=MONDAY - timedelta(hours=2), incident_id="PGR0VU2", **incident):
    return paging.pd_event("incident.triggered", occurred_at=at,
                           data=paging.pd_incident(incident_id, created_at=at, **incident))


def _resolved(at=MONDAY, incident_id="PGR0VU2", created_at=MONDAY - timedelta(hours=2)):
    return paging.pd_event("incident.resolved", occurred_at=at,
                           data=paging.pd_incident(incident_id, created_at=created_at, status="resolved"))


def test_triggered_creates_the_incident_with_its_link_start_and_severity(send, client, auth):
    answer = send.pagerduty(_triggered())
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "applied"
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert incident["title"] == "The server is on fire."
    assert incident["started_at"] == "2026-11-30T08:00:00Z"
    assert incident["severity"] == "SEV0"  # P1 through the default map
    assert incident["status"] == "investigating" and incident["visibility"] == "public"
    assert incident["links"] == [{"title": "PagerDuty incident", "url": "https://acme.pagerduty.com/incidents/PGR0VU2"}]
    [line] = timeline(client, auth, incident["id"])
    assert line["source"] == "pagerduty" and line["occurred_at"] == "2026-11-30T08:00:00Z"


@pytest.mark.parametrize(("priority", "urgency", "severity_map", "expected"), [
    ("P2", "low", None, "SEV1"),
    (None, "high", None, "SEV1"),
    (None, "low", None, "SEV2"),
    ("Sev-A", "low", None, "SEV2"),  # unmatched name, low urgency
    ("Sev-A", "high", None, "SEV1"),  # unmatched name, high urgency
    ("sev-a", "low", "SEV-A=SEV0", "SEV0"),  # matched case-insensitively
])
def test_severity_comes_from_the_priority_map_then_urgency(make_app, auth, priority, urgency, severity_map, expected):
    from tests.intake.conftest import SECRETS, Senders

    overrides = dict(SECRETS) | ({"severity_map": severity_map} if severity_map else {})
    app = make_app(**overrides)
    client = app.test_client()
    from tests.conftest import Factory

    _, headers = Factory(app).user(admin=True)
    Senders(client).pagerduty(_triggered(priority=priority, urgency=urgency))
    [incident] = incident_by_external_id(client, headers, "pagerduty:PGR0VU2")
    assert incident["severity"] == expected


def test_every_timeline_event_type_is_a_line_with_its_time_agent_and_id(send, client, auth):
    send.pagerduty(_triggered())
    at = MONDAY - timedelta(hours=1)
    bob = paging.pd_user("PBOB001", "Bob Builder")
    events = [
        paging.pd_event("incident.acknowledged", occurred_at=at, event_id="E-ACK",
                        data=paging.pd_incident(created_at=at, status="acknowledged")),
        paging.pd_event("incident.reassigned", occurred_at=at + timedelta(minutes=1), event_id="E-REASSIGN",
                        data=paging.pd_incident(created_at=at, assignees=[bob])),
        paging.pd_event("incident.escalated", occurred_at=at + timedelta(minutes=2), event_id="E-ESC",
                        data=paging.pd_incident(created_at=at, assignees=[bob])),
        paging.pd_event("incident.responder.added", occurred_at=at + timedelta(minutes=3), event_id="E-RESP",
                        data=paging.pd_responder("PGR0VU2", bob)),
        paging.pd_event("incident.annotated", occurred_at=at + timedelta(minutes=4), event_id="E-NOTE",
                        data=paging.pd_note("PGR0VU2", "Rolled back the deploy; errors falling.")),
        paging.pd_event("incident.priority_updated", occurred_at=at + timedelta(minutes=5), event_id="E-PRIO",
                        data=paging.pd_incident(created_at=at, priority="P3", urgency="high")),
    ]
    for event in events:
        assert send.pagerduty(event).get_json()["outcome"] == "applied"
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    lines = {line["external_id"]: line for line in timeline(client, auth, incident["id"])}
    assert lines["E-ACK"]["text"] == "Acknowledged in PagerDuty"
    assert lines["E-ACK"]["author"] == "Earline Greenholt" and lines["E-ACK"]["occurred_at"] == "2026-11-30T09:00:00Z"
    assert lines["E-REASSIGN"]["text"] == "Reassigned in PagerDuty to Bob Builder"
    assert lines["E-ESC"]["text"] == "Escalated in PagerDuty to Bob Builder"
    assert lines["E-RESP"]["text"] == "Bob Builder added as a responder in PagerDuty"
    assert lines["E-NOTE"]["text"] == "Rolled back the deploy; errors falling." and lines["E-NOTE"]["kind"] == "note"
    assert lines["E-PRIO"]["text"] == "Priority changed in PagerDuty to P3"
    assert {line["source"] for line in lines.values()} == {"pagerduty"}
    assert incident["severity"] == "SEV2"  # P3 through the map: the severity followed the priority


def test_resolved_books_the_retro_three_working_days_out(send, client, auth):
    send.pagerduty(_triggered())
    send.pagerduty(_resolved())
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert incident["status"] == "resolved" and incident["resolved_at"] == "2026-11-30T10:00:00Z"
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    assert retro["status"] == "pending"
    assert retro["deadline_at"] == "2026-12-03T10:00:00Z"


def test_reopened_opens_the_incident_and_withdraws_the_unscheduled_retro(send, client, auth):
    send.pagerduty(_triggered())
    send.pagerduty(_resolved())
    send.pagerduty(paging.pd_event("incident.reopened", occurred_at=MONDAY + timedelta(minutes=30),
                                   data=paging.pd_incident(created_at=MONDAY, status="triggered")))
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert incident["status"] == "investigating" and incident["resolved_at"] is None
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    assert retro["status"] == "withdrawn"


def test_the_same_event_twice_changes_nothing(send, client, auth):
    event = _triggered()
    assert send.pagerduty(event).get_json()["outcome"] == "applied"
    again = send.pagerduty(event)
    assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    note = paging.pd_event("incident.annotated", occurred_at=MONDAY - timedelta(hours=1),
                           data=paging.pd_note("PGR0VU2", "once"))
    send.pagerduty(note)
    send.pagerduty(note)
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert [line["text"] for line in timeline(client, auth, incident["id"])].count("once") == 1
    assert len(timeline(client, auth, incident["id"])) == 2


def test_resolved_before_triggered_leaves_one_incident_with_the_right_times(send, client, auth):
    started = MONDAY - timedelta(hours=3)
    send.pagerduty(_resolved(created_at=started))
    [placeholder] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert placeholder["status"] == "resolved" and placeholder["started_at"] == "2026-11-30T07:00:00Z"
    send.pagerduty(_triggered(at=started))
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert incident["id"] == placeholder["id"]
    assert incident["status"] == "resolved"
    assert incident["started_at"] == "2026-11-30T07:00:00Z" and incident["resolved_at"] == "2026-11-30T10:00:00Z"
    assert client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).status_code == 200
    assert len(timeline(client, auth, incident["id"])) == 2


def test_a_late_reopen_older_than_the_resolution_does_not_reopen(send, client, auth):
    send.pagerduty(_triggered())
    send.pagerduty(_resolved())
    late = send.pagerduty(paging.pd_event("incident.reopened", occurred_at=MONDAY - timedelta(minutes=30),
                                          data=paging.pd_incident(created_at=MONDAY)))
    assert late.status_code == 200  # taken (its timeline line kept), not refused
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert incident["status"] == "resolved"


def test_unknown_event_types_are_answered_and_ignored(send, client, auth):
    answer = send.pagerduty(paging.pd_event("incident.workflow.started", occurred_at=MONDAY,
                                            data=paging.pd_incident(created_at=MONDAY)))
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "ignored"
    assert incident_by_external_id(client, auth, "pagerduty:PGR0VU2") == []


def test_a_rotated_secret_is_accepted_by_either_signature(make_app, auth):
    from tests.intake.conftest import SECRETS, Senders

    app = make_app(**(SECRETS | {"pagerduty": {"webhook_secret": "new-secret"}}))
    send = Senders(app.test_client())
    assert send.pagerduty(_triggered(), PD_SECRET, "new-secret").status_code == 200
    assert send.pagerduty(_triggered(incident_id="P2"), "new-secret", PD_SECRET).status_code == 200
    refused = send.pagerduty(_triggered(incident_id="P3"), PD_SECRET)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize("signature", [None, "", "v1=", "v1=deadbeef", "sha256=abc", "v0=" + "0" * 64])
def test_a_bad_signature_is_401_with_the_error_shape_and_nothing_stored(client, auth, signature):
    body = paging.body_of(_triggered())
    headers = {"Content-Type": "application/json"} | ({"X-PagerDuty-Signature": signature} if signature is not None else {})
    answer = client.post("/api/v1/integrations/pagerduty/webhook", data=body, headers=headers)
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "invalid_signature"
    assert incident_by_external_id(client, auth, "pagerduty:PGR0VU2") == []


def test_without_a_secret_the_webhook_is_refused(make_app):
    app = make_app()
    body = paging.body_of(_triggered())
    answer = app.test_client().post("/api/v1/integrations/pagerduty/webhook", data=body,
                                    headers=paging.sign_pagerduty(body, ""))
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "webhook_refused"


@pytest.mark.parametrize("body", [
    b"not json",
    b"[]",
    b'{"event": null}',
    b'{"event": {"event_type": "incident.triggered", "occurred_at": "2026-11-30T10:00:00Z", "data": {"id": "P1"}}}',
    b'{"event": {"id": "E1", "event_type": "incident.triggered", "occurred_at": "yesterday", "data": {"id": "P1"}}}',
    b'{"event": {"id": "E1", "event_type": "incident.triggered", "occurred_at": "2026-11-30T10:00:00Z", "data": {}}}',
    b'{"event": {"id": "E1", "event_type": "incident.annotated", "occurred_at": "2026-11-30T10:00:00Z", "data": {"incident": 5}}}',
    # An incident id too long to be kept as "pagerduty:<id>" in the incident's external id.
    b'{"event": {"id": "E1", "event_type": "incident.triggered", "occurred_at": "2026-11-30T10:00:00Z", "data": {"id": "'
    + b"P" * 195 + b'", "title": "x"}}}',
])
def test_a_malformed_body_is_400_and_stores_nothing(client, auth, body):
    answer = client.post("/api/v1/integrations/pagerduty/webhook", data=body,
                         headers=paging.sign_pagerduty(body, PD_SECRET))
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] in {"malformed_json", "malformed_webhook"} and error["message"]
    assert client.get("/api/v1/incidents", headers=auth).get_json()["items"] == []


@pytest.mark.parametrize("seed", range(4))
def test_any_arrival_order_ends_in_the_same_incident(send, client, auth, seed):
    import random

    start = MONDAY - timedelta(hours=2)
    events = [
        _triggered(at=start),
        paging.pd_event("incident.acknowledged", occurred_at=start + timedelta(minutes=3),
                        data=paging.pd_incident(created_at=start)),
        paging.pd_event("incident.annotated", occurred_at=start + timedelta(minutes=9),
                        data=paging.pd_note("PGR0VU2", "Found it")),
        paging.pd_event("incident.priority_updated", occurred_at=start + timedelta(minutes=20),
                        data=paging.pd_incident(created_at=start, priority="P2")),
        _resolved(created_at=start),
    ]
    order = events[:]
    random.Random(seed).shuffle(order)
    for event in order + order[:2]:  # and two of them again
        assert send.pagerduty(event).status_code == 200
    [incident] = incident_by_external_id(client, auth, "pagerduty:PGR0VU2")
    assert (incident["started_at"], incident["resolved_at"]) == ("2026-11-30T08:00:00Z", "2026-11-30T10:00:00Z")
    assert incident["status"] == "resolved" and incident["severity"] == "SEV1"  # P2, the latest priority
    assert incident["title"] == "The server is on fire."
    assert len(timeline(client, auth, incident["id"])) == 5
