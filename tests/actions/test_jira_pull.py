"""Pulling Jira's changes: the signed webhook, the JQL reconcile, echoes, conflicts and refusals."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from app.db import database
from tests.actions.conftest import OWNER, WEBHOOK_SECRET, in_days, outbox_rows, run_sync
from tests.fakes.jira import FakeJira

WEBHOOK = "/api/v1/integrations/jira/webhook"


def deliver(client, payload, *, secret=WEBHOOK_SECRET, identifier="delivery-1", signature=None, query=None):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": identifier}
    if signature is None and secret is not None:
        signature = FakeJira.sign(body, secret)
    if signature:
        headers["X-Hub-Signature"] = signature
    return client.post(WEBHOOK, data=body, headers=headers, query_string=query or {})


def history(client, auth, item_id):
    return client.get(f"/api/v1/action-items/{item_id}/history", headers=auth).get_json()["items"]


def jira_changes(client, auth, item_id):
    return [c for c in history(client, auth, item_id) if c["via"] == "jira"]


@pytest.fixture
def synced(make_item, jira):
    item = make_item()
    assert item["id"] and jira.issue("HS-1")
    return item


def test_a_signed_webhook_applies_assignee_due_date_and_status(client, auth, synced, jira):
    payload = jira.change("HS-1", duedate=date.today() + timedelta(days=21), assignee="sam.second@example.com",
                          status="indeterminate", by="sam.second@example.com")
    response = deliver(client, payload)
    assert response.status_code == 204 and response.data == b""
    shown = client.get(f"/api/v1/action-items/{synced['id']}", headers=auth).get_json()
    assert (shown["due_date"], shown["owner"], shown["status"]) == (in_days(21), "sam.second@example.com", "in_progress")
    changes = {(c["field"], c["old"], c["new"], c["by"]) for c in jira_changes(client, auth, synced["id"])}
    assert changes == {
        ("due_date", in_days(10), in_days(21), "Sam"),
        ("owner", OWNER, "sam.second@example.com", "Sam"),
        ("status", "open", "in_progress", "Sam"),
    }
    # A pulled change is not pushed back to Jira.
    assert outbox_rows(client.application) == []
    assert jira.count("PUT") == 0


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha1=abc", "wrong"])
def test_a_wrong_or_missing_signature_is_401_and_changes_nothing(client, auth, synced, jira, signature):
    payload = jira.change("HS-1", status="done")
    response = deliver(client, payload, signature=signature or None, secret=None)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert client.get(f"/api/v1/action-items/{synced['id']}", headers=auth).get_json()["status"] == "open"
    # Signed with another secret: refused too.
    assert deliver(client, payload, secret="another").status_code == 401


def test_the_secret_query_parameter_for_jira_that_cannot_sign(client, auth, synced, jira):
    payload = jira.change("HS-1", status="done")
    assert deliver(client, payload, secret=None, query={"secret": "guess"}).status_code == 401
    assert deliver(client, payload, secret=None, query={"secret": WEBHOOK_SECRET}).status_code == 204
    assert client.get(f"/api/v1/action-items/{synced['id']}", headers=auth).get_json()["status"] == "done"


def test_no_secret_configured_refuses_every_webhook(make_app, jira_settings, jira):
    app = make_app(jira=jira_settings | {"webhook_secret": ""})
    payload = {"webhookEvent": "jira:issue_updated"}
    response = deliver(app.test_client(), payload, secret="")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "webhook_refused"


def test_a_replayed_delivery_is_applied_once(client, auth, synced, jira):
    payload = jira.change("HS-1", duedate=date.today() + timedelta(days=15))
    assert deliver(client, payload, identifier="abc-1").status_code == 204
    # Someone changes the date back here; Jira then retries the same delivery.
    client.patch(f"/api/v1/action-items/{synced['id']}", json={"due_date": in_days(12)}, headers=auth)
    assert deliver(client, payload, identifier="abc-1").status_code == 204
    assert client.get(f"/api/v1/action-items/{synced['id']}", headers=auth).get_json()["due_date"] == in_days(12)
    assert len([c for c in jira_changes(client, auth, synced["id"]) if c["field"] == "due_date"]) == 1


def test_our_own_pushes_do_not_echo_back(client, auth, synced, jira):
    client.patch(f"/api/v1/action-items/{synced['id']}", json={"status": "in_progress", "due_date": in_days(4)}, headers=auth)
    # The webhook Jira sends for our own update carries our values.
    echo = {"webhookEvent": "jira:issue_updated", "user": {"displayName": "Hindsight bot"},
            "issue": jira.issue("HS-1"), "changelog": {"items": []}}
    assert deliver(client, echo, identifier="echo-1").status_code == 204
    assert jira_changes(client, auth, synced["id"]) == []
    # And the reconcile sees nothing new either.
    assert run_sync(client.application)["pulled"] == 0
    assert jira_changes(client, auth, synced["id"]) == []


def test_unknown_issues_and_other_events_are_ignored(client, auth, synced, jira):
    assert deliver(client, {"webhookEvent": "jira:issue_deleted", "issue": jira.issue("HS-1")}, identifier="d1").status_code == 204
    stranger = json.loads(json.dumps(jira.issue("HS-1")))
    stranger["key"], stranger["fields"]["labels"] = "OPS-9", ["other"]
    assert deliver(client, {"webhookEvent": "jira:issue_updated", "issue": stranger}, identifier="d2").status_code == 204
    assert deliver(client, {"webhookEvent": "jira:issue_updated", "issue": {"nonsense": 1}}, identifier="d3").status_code == 204
    bad = client.post(WEBHOOK, data=b"{not json", headers={"X-Hub-Signature": FakeJira.sign(b"{not json", WEBHOOK_SECRET)})
    assert bad.status_code == 400
    assert jira_changes(client, auth, synced["id"]) == []


@pytest.mark.parametrize("jira_deployment", ["Server", "Cloud"])
def test_the_reconcile_catches_what_webhooks_missed_in_pages(auth, retro, jira, jira_settings, make_app):
    app = make_app(jira=jira_settings | {"page_size": 3})
    client = app.test_client()
    items = []
    for n in range(5):
        jira.clock_offset = -timedelta(minutes=60 - 10 * n)  # created over the last hour
        items.append(client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                                 json={"title": f"t{n}", "owner": OWNER, "due_date": in_days(5)}, headers=auth).get_json())
    jira.clock_offset = timedelta(0)
    keys = {i["id"]: client.get(f"/api/v1/action-items/{i['id']}", headers=auth).get_json()["jira_key"] for i in items}
    searches = "/rest/api/2/search/jql" if jira.cloud else "/rest/api/2/search$"
    assert run_sync(app)["pulled"] == 0
    assert jira.count("GET", searches) == 2  # 5 issues, 3 a page
    jira.change(keys[items[0]["id"]], status="done")
    jira.change(keys[items[2]["id"]], duedate=date.today() + timedelta(days=9), assignee="sam.second@example.com")
    before = jira.count("GET", searches)
    assert run_sync(app)["pulled"] == 2
    # Only what changed since the cursor (and the cursor's own minute): one page.
    assert jira.count("GET", searches) - before == 1
    last = [e for e in jira.log if e.path.endswith(("/search", "/search/jql"))][-1]
    assert 'updated >= "' in last.query["jql"][0]
    assert client.get(f"/api/v1/action-items/{items[0]['id']}", headers=auth).get_json()["status"] == "done"
    third = client.get(f"/api/v1/action-items/{items[2]['id']}", headers=auth).get_json()
    assert (third["due_date"], third["owner"]) == (in_days(9), "sam.second@example.com")
    assert run_sync(app)["pulled"] == 0
    assert [c["via"] for c in jira_changes(client, auth, items[2]["id"])] == ["jira", "jira"]


def test_conflict_a_later_change_here_wins_and_is_pushed_back(client, auth, synced, jira, app):
    # Changed in Jira first (its webhook lost), then here while Jira was unreachable.
    jira.change("HS-1", duedate=date.today() + timedelta(days=5))
    jira.stop_listening()
    client.patch(f"/api/v1/action-items/{synced['id']}", json={"due_date": in_days(30)}, headers=auth)
    jira.start_listening()
    run_sync(app, force=True)
    assert client.get(f"/api/v1/action-items/{synced['id']}", headers=auth).get_json()["due_date"] == in_days(30)
    assert jira.issue("HS-1")["fields"]["duedate"] == in_days(30)
    [lost] = [c for c in jira_changes(client, auth, synced["id"]) if c["field"] == "due_date"]
    assert lost["applied"] is False and "later" in lost["note"] and lost["new"] == in_days(5)
    ours = [c for c in history(client, auth, synced["id"]) if c["field"] == "due_date" and c["via"] == "api"]
    assert ours and ours[0]["new"] == in_days(30)


def test_conflict_a_later_change_in_jira_wins(client, auth, synced, jira, app):
    jira.stop_listening()
    client.patch(f"/api/v1/action-items/{synced['id']}", json={"status": "in_progress", "title": "Renamed"}, headers=auth)
    jira.start_listening()
    jira.change("HS-1", status="done", at=datetime.now(timezone.utc) + timedelta(seconds=30))
    run_sync(app, force=True)
    shown = client.get(f"/api/v1/action-items/{synced['id']}", headers=auth).get_json()
    assert shown["status"] == "done" and shown["sync_status"] == "synced"
    fields = jira.issue("HS-1")["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done" and fields["summary"] == "Renamed"
    [won] = [c for c in jira_changes(client, auth, synced["id"]) if c["field"] == "status"]
    assert won["applied"] is True and "conflict" in won["note"]
    assert any(c["field"] == "status" and c["via"] == "api" and c["new"] == "in_progress" for c in history(client, auth, synced["id"]))


def test_an_assignee_hindsight_cannot_use_is_refused_and_pushed_back(client, auth, synced, jira):
    jira.add_user("stranger@example.com", name="stranger")
    response = deliver(client, jira.change("HS-1", assignee="stranger@example.com"), identifier="s1")
    assert response.status_code == 204
    shown = client.get(f"/api/v1/action-items/{synced['id']}", headers=auth).get_json()
    assert shown["owner"] == OWNER
    [refused] = jira_changes(client, auth, synced["id"])
    assert refused["applied"] is False and "not a person Hindsight knows" in refused["note"]
    # Pushed back right after the webhook's commit.
    assert jira.issue("HS-1")["fields"]["assignee"]["emailAddress"] == OWNER
    deliver(client, jira.change("HS-1", duedate=None), identifier="s2")
    assert jira.issue("HS-1")["fields"]["duedate"] == in_days(10)


def test_a_private_incident_refuses_an_assignee_outside_the_team(client, auth, factory, jira):
    insider = factory.person(email=OWNER, name="Olivia")
    factory.person(email="sam.second@example.com")
    _incident, retro = factory.resolved_incident(auth, visibility="private", commander=insider.email)
    item = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                       json={"title": "fix", "owner": OWNER, "due_date": in_days(3)}, headers=auth).get_json()
    deliver(client, jira.change("HS-1", assignee="sam.second@example.com"), identifier="p1")
    assert client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()["owner"] == OWNER
    [refused] = jira_changes(client, auth, item["id"])
    assert "cannot see this private incident" in refused["note"]


def test_a_failed_reconcile_is_kept_and_pushes_still_count(app, synced, jira):
    from app.actions.models import JiraSyncState

    jira.fail("500", method="GET", path="/search")
    counts = run_sync(app)
    assert counts["pulled"] == 0
    with database(app).session_factory() as session:
        assert "500" in session.get(JiraSyncState, "last_pull_error").value
    run_sync(app)
    with database(app).session_factory() as session:
        assert session.get(JiraSyncState, "last_pull_error").value is None
