"""Pushing action items to Jira through the outbox, against the loopback Jira stand-in."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.db import database
from tests.actions.conftest import OWNER, WEBHOOK_SECRET, in_days, outbox_rows, run_sync


BOTH = pytest.mark.parametrize("jira_deployment", ["Server", "Cloud"])


def item_state(app, item_id):
    from app.actions.models import ActionItem

    with database(app).session_factory() as session:
        return session.get(ActionItem, item_id)


@BOTH
def test_creating_an_item_creates_the_issue_right_after_the_commit(client, auth, make_item, jira):
    item = make_item(description="Canary on 1% of traffic", due_date=in_days(9))
    assert item["sync_status"] == "pending"  # the answer is serialised before the commit
    now = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert now["sync_status"] == "synced" and now["jira_key"] == "HS-1" and now["last_sync_error"] is None
    issue = jira.issue("HS-1")["fields"]
    assert issue["summary"] == "Add a canary for checkout"
    assert issue["description"].startswith("Canary on 1% of traffic\n\n")
    assert "http://hindsight.test/incidents/" in issue["description"]
    assert issue["duedate"] == in_days(9)
    assert set(issue["labels"]) == {"hindsight", f"hindsight-{item['id']}"}
    assert issue["assignee"]["emailAddress"] == OWNER
    if jira.cloud:
        assert "name" not in issue["assignee"]
        assert jira.count("GET", "/user/search") == 1
        assert jira.log[[e.path for e in jira.log].index("/rest/api/2/user/search")].query["query"] == [OWNER]
    else:
        assert issue["assignee"]["name"] == "olivia"
    assert outbox_rows(client.application) == []
    assert jira.count("POST", r"^/rest/api/2/issue$") == 1


@pytest.mark.parametrize("jira_deployment", ["Cloud"])
def test_cloud_remembers_the_account_id_and_needs_no_second_search(app, make_item, jira):
    make_item()
    make_item(title="Second")
    assert jira.count("GET", "/user/search") == 1
    from app.people.models import Person
    from sqlalchemy import select

    with database(app).session_factory() as session:
        person = session.scalar(select(Person).where(Person.email == OWNER))
        assert person.jira_account_id == jira.find_user(email=OWNER)["accountId"]


@BOTH
def test_changes_update_the_issue_and_move_it_through_the_workflow(client, auth, make_item, jira):
    item = make_item()
    before = jira.count("PUT")
    response = client.patch(f"/api/v1/action-items/{item['id']}",
                            json={"due_date": in_days(20), "status": "in_progress", "owner": "sam.second@example.com"},
                            headers=auth)
    assert response.status_code == 200
    issue = jira.issue("HS-1")["fields"]
    assert issue["duedate"] == in_days(20)
    assert issue["status"]["statusCategory"]["key"] == "indeterminate"
    assert issue["assignee"]["emailAddress"] == "sam.second@example.com"
    assert jira.count("PUT") - before == 1  # due date and assignee in one request
    assert jira.count("POST", "/transitions") == 1
    client.patch(f"/api/v1/action-items/{item['id']}", json={"status": "wont_do"}, headers=auth)
    assert jira.issue("HS-1")["fields"]["status"]["statusCategory"]["key"] == "done"
    assert client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()["sync_status"] == "synced"


def test_jira_down_loses_nothing_and_retries_with_backoff(client, auth, make_item, jira, app):
    jira.stop_listening()
    item = make_item()
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["sync_status"] == "failed"
    assert "Cannot reach Jira" in shown["last_sync_error"]
    [row] = outbox_rows(app)
    assert row.attempts == 1
    # Backoff with jitter: base 30 s, times 0.5-1.0.
    wait = (row.next_attempt_at - datetime.now(timezone.utc)).total_seconds()
    assert 10 < wait <= 30
    jira.start_listening()
    assert run_sync(app)["created"] == 0  # the job respects the backoff
    assert jira.count("POST", r"^/rest/api/2/issue$") == 0
    counts = run_sync(app, force=True)
    assert counts["created"] == 1 and counts["failed"] == 0
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["sync_status"] == "synced" and shown["last_sync_error"] is None and shown["jira_key"] == "HS-1"
    assert len(jira.issues) == 1 and outbox_rows(app) == []


def test_several_changes_while_down_make_one_push(client, auth, make_item, jira, app):
    item = make_item()
    jira.stop_listening()
    for days in (11, 12, 13):
        client.patch(f"/api/v1/action-items/{item['id']}", json={"due_date": in_days(days)}, headers=auth)
    client.patch(f"/api/v1/action-items/{item['id']}", json={"title": "Renamed"}, headers=auth)
    assert len(outbox_rows(app)) == 1
    jira.start_listening()
    puts = jira.count("PUT")
    assert run_sync(app, force=True)["updated"] == 1
    assert jira.count("PUT") - puts == 1
    fields = jira.issue("HS-1")["fields"]
    assert (fields["duedate"], fields["summary"]) == (in_days(13), "Renamed")


@BOTH
@pytest.mark.parametrize("kind", ["500", "timeout_after_apply", "reset"])
def test_a_create_whose_answer_is_lost_makes_no_second_issue(client, auth, make_item, jira, app, kind):
    jira.fail(kind, method="POST", path=r"^/rest/api/2/issue$")
    item = make_item()
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["sync_status"] == "failed" and shown["jira_key"] is None
    [row] = outbox_rows(app)
    assert row.uncertain is True
    counts = run_sync(app, force=True)
    assert counts["failed"] == 0
    created = len(jira.issue_by_label(f"hindsight-{item['id']}"))
    if kind == "timeout_after_apply":
        # Jira created it although the answer never came: found by its label and adopted.
        assert counts["adopted"] == 1 and counts["created"] == 0
        assert jira.count("POST", r"^/rest/api/2/issue$") == 1
    else:
        assert counts["created"] == 1
    assert created == 1
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["sync_status"] == "synced" and shown["jira_key"] == jira.issue_by_label(f"hindsight-{item['id']}")[0]["key"]


@pytest.mark.parametrize("kind,retry_after", [("429", 7), ("429-date", 7), ("429-bad", None)])
def test_429_honours_retry_after_and_is_never_resent_by_the_library(client, auth, make_item, jira, app, kind, retry_after):
    jira.retry_after = "7"
    jira.fail(kind, method="POST", path=r"^/rest/api/2/issue$")
    item = make_item()
    assert jira.count("POST", r"^/rest/api/2/issue$") == 1
    [row] = outbox_rows(app)
    wait = (row.next_attempt_at - datetime.now(timezone.utc)).total_seconds()
    if retry_after is None:
        assert 10 < wait <= 30  # no usable Retry-After: the usual backoff
    else:
        assert retry_after - 2 < wait <= retry_after
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["sync_status"] == "failed" and "429" in shown["last_sync_error"]
    assert row.uncertain is False  # a 429 was not applied: no lookup needed
    run_sync(app, force=True)
    assert len(jira.issues) == 1
    assert client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()["sync_status"] == "synced"


def test_a_throttled_or_unreachable_jira_stops_the_run(app, client, auth, make_item, jira):
    jira.stop_listening()
    ids = [make_item(title=f"item {n}")["id"] for n in range(3)]
    jira.start_listening()
    jira.fail("429", times=1)
    counts = run_sync(app, force=True)
    assert counts["failed"] == 3
    assert jira.count(failed=True) == 1  # one 429, the others not asked
    for item_id in ids:
        shown = client.get(f"/api/v1/action-items/{item_id}", headers=auth).get_json()
        assert shown["sync_status"] == "failed"
    assert run_sync(app, force=True)["created"] == 3


def test_a_failure_after_create_keeps_the_key(client, auth, make_item, jira, app):
    jira.stop_listening()
    item = make_item()
    client.patch(f"/api/v1/action-items/{item['id']}", json={"status": "done"}, headers=auth)
    jira.start_listening()
    jira.fail("500", method="POST", path="/transitions")
    counts = run_sync(app, force=True)
    assert counts["failed"] == 1
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["jira_key"] == "HS-1" and shown["sync_status"] == "failed"
    run_sync(app, force=True)
    assert len(jira.issues) == 1
    assert jira.issue("HS-1")["fields"]["status"]["statusCategory"]["key"] == "done"
    assert client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()["sync_status"] == "synced"


def test_a_change_during_a_push_is_pushed_next(app, make_item, jira, client, auth):
    from app.actions.sync import claim, jira_config, push_one
    from app.extensions import settings
    from integrations.jira import JiraClient

    jira.stop_listening()
    item = make_item()
    jira.start_listening()
    config = settings(app)
    factory = database(app).session_factory
    [taken] = claim(factory, settings=config, force=True, limit=10)
    assert claim(factory, settings=config, force=True, limit=10) == []  # leased: a second worker gets nothing
    client.patch(f"/api/v1/action-items/{item['id']}", json={"title": "Changed meanwhile"}, headers=auth)
    with JiraClient(jira_config(config)) as jira_client:
        push_one(factory, jira_client, taken, settings=config)
    [row] = outbox_rows(app)
    assert row.claim_token is None and row.attempts == 0
    assert item_state(app, item["id"]).sync_status == "pending"
    run_sync(app)
    assert jira.issue("HS-1")["fields"]["summary"] == "Changed meanwhile"
    assert outbox_rows(app) == []


def test_private_incident_issues_hold_only_a_link(client, auth, factory, jira):
    insider = factory.person(email=OWNER, name="Olivia")
    _incident, retro = factory.resolved_incident(auth, visibility="private", commander=insider.email,
                                                 title="Payment card data exposed")
    item = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                       json={"title": "Rotate the leaked keys", "owner": OWNER, "due_date": in_days(3),
                             "description": "keys in bucket s3://secret"}, headers=auth).get_json()
    fields = jira.issue("HS-1")["fields"]
    text = fields["summary"] + fields["description"]
    for secret in ("Rotate", "leaked", "s3://secret", "Payment"):
        assert secret not in text
    assert fields["summary"] == f"Hindsight action item #{item['id']}"
    assert "http://hindsight.test/incidents/" in fields["description"]


def test_priority_map_and_extra_fields(make_app, jira, jira_settings, factory_for):
    jira.required_fields = {"customfield_10010"}
    app = make_app(jira=jira_settings | {"priority_map": {"high": "Highest"},
                                         "extra_fields": {"customfield_10010": {"value": "SRE"}}})
    client, auth, retro = factory_for(app)
    client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                json={"title": "x", "owner": OWNER, "due_date": in_days(3), "priority": "high"}, headers=auth)
    fields = jira.issue("HS-1")["fields"]
    assert fields["priority"]["name"] == "Highest"
    assert fields["customfield_10010"] == {"value": "SRE"}


def test_a_rejected_create_shows_jira_s_message(client, auth, make_item, jira):
    jira.required_fields = {"customfield_10010"}
    item = make_item()
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["sync_status"] == "failed"
    assert "customfield_10010 is required" in shown["last_sync_error"]


def test_an_owner_without_a_jira_account_syncs_unassigned_with_a_note(client, auth, factory, retro, jira):
    factory.person(email="no.jira@example.com")
    item = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                       json={"title": "x", "owner": "no.jira@example.com", "due_date": in_days(3)}, headers=auth).get_json()
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["sync_status"] == "synced" and "no Jira account" in shown["last_sync_error"]
    assert jira.issue("HS-1")["fields"]["assignee"] is None


def test_the_job_answers_the_scheduler_contract(app, make_item, jira):
    jira.stop_listening()
    make_item()
    jira.start_listening()
    counts = run_sync(app, force=True)
    assert set(counts) >= {"created", "updated", "pulled", "failed"}
    assert counts["created"] == 1


@pytest.mark.committing  # the CLI builds its own app and engine: it reads committed rows
def test_sync_endpoint_and_cli(client, auth, make_item, jira, app, database_url, tmp_path, jira_settings):
    from click.testing import CliRunner

    from app.cli import main

    jira.stop_listening()
    make_item()
    jira.start_listening()
    answer = client.post("/api/v1/sync/jira", headers=auth).get_json()
    assert answer == {"enabled": True, "created": 1, "updated": 0, "pulled": 0, "failed": 0}
    jira.stop_listening()
    make_item(title="second")
    jira.start_listening()
    env = {"HINDSIGHT_DATABASE_URL": database_url, "HINDSIGHT_SECRET_KEY": "x",
           "HINDSIGHT_INSTANCE_PATH": str(tmp_path / "cli")}
    env |= {f"HINDSIGHT_JIRA_{key.upper()}": str(value) for key, value in jira_settings.items()}
    result = CliRunner().invoke(main, ["sync", "jira"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "created 1, updated 0, pulled 0, failed 0" in result.output
    assert len(jira.issues) == 2


@pytest.mark.parametrize("kind", ["429", "500", "timeout_after_apply"])
def test_a_create_whose_read_back_fails_keeps_the_key(client, auth, make_item, jira, app, kind):
    jira.fail(kind, method="GET", path=r"^/rest/api/2/issue/HS-1$")
    item = make_item()
    shown = client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()
    assert shown["jira_key"] == "HS-1" and shown["sync_status"] == "failed"
    run_sync(app, force=True)
    assert len(jira.issues) == 1
    assert client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()["sync_status"] == "synced"


def test_items_made_while_sync_was_off_are_pushed_once_it_is_on(make_app, jira, jira_settings, factory_for, app):
    off = make_app()
    client, auth, retro = factory_for(off)
    item = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                       json={"title": "x", "owner": OWNER, "due_date": in_days(3)}, headers=auth).get_json()
    assert item["sync_status"] == "off" and jira.count() == 0
    counts = run_sync(app)
    assert counts["created"] == 1
    assert item_state(app, item["id"]).sync_status == "synced"


@pytest.mark.committing  # two threads, two connections, racing for real
def test_two_workers_at_once_push_each_item_once(app, make_item, jira):
    import threading

    from app.actions.sync import jira_config, push_due
    from app.extensions import settings
    from integrations.jira import JiraClient

    jira.stop_listening()
    ids = [make_item(title=f"item {n}")["id"] for n in range(12)]
    jira.start_listening()
    config = settings(app).model_copy(update={"jira": settings(app).jira.model_copy(update={"push_batch": 3})})
    factory = database(app).session_factory
    results = []

    def worker():
        with JiraClient(jira_config(config)) as client:
            results.append(push_due(factory, settings=config, client=client, force=True))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.created for r in results) == 12 and sum(r.failed for r in results) == 0
    assert jira.count("POST", r"^/rest/api/2/issue$") == 12
    assert sorted(int(label.rsplit("-", 1)[1]) for issue in jira.issues.values()
                  for label in issue["fields"]["labels"] if label != "hindsight") == ids


@pytest.mark.committing  # a worker thread and the test, each on its own connection
def test_a_row_whose_lease_ran_out_mid_batch_is_left_to_the_worker_that_took_it(app, make_item, jira):
    """A slow Jira: while the first row of a batch is pushed, the second row's lease runs out and another
    worker claims it. The first worker must then skip that row, so its issue is created once, not twice."""
    import threading

    from sqlalchemy import update

    from app.actions.models import JiraOutbox
    from app.actions.sync import jira_config, push_due
    from app.actions.sync.claiming import claim
    from app.extensions import settings
    from integrations.jira import JiraClient

    jira.stop_listening()
    ids = [make_item(title=f"item {n}")["id"] for n in range(2)]
    jira.start_listening()
    config = settings(app).model_copy(update={"jira": settings(app).jira.model_copy(update={"push_batch": 2})})
    factory = database(app).session_factory
    arrived, release = jira.hold("POST", r"^/rest/api/2/issue$")
    results = []

    def slow_worker():
        with JiraClient(jira_config(config)) as client:
            results.append(push_due(factory, settings=config, client=client, force=True))

    worker = threading.Thread(target=slow_worker)
    worker.start()
    try:
        assert arrived.wait(10), "the first worker never reached Jira"
        label = next(label for label in jira.log[-1].body["fields"]["labels"] if label != "hindsight")
        first = int(label.rsplit("-", 1)[1])
        second = next(n for n in ids if n != first)
        with factory() as session, session.begin():  # the second row's lease runs out
            session.execute(update(JiraOutbox).where(JiraOutbox.action_item_id == second)
                            .values(claimed_until=datetime(2000, 1, 1, tzinfo=timezone.utc)))
        taken = claim(factory, settings=config, force=True, limit=5)
        assert [c.item_id for c in taken] == [second]
    finally:
        release.set()
        worker.join(20)
    assert results and results[0].created == 1
    with JiraClient(jira_config(config)) as client:
        assert push_due(factory, settings=config, client=client, force=True, item_ids=[second]).created == 0
    # The second worker's claim still stands, so nobody else pushed it; once it is pushed, one issue each.
    assert jira.count("POST", r"^/rest/api/2/issue$") == 1
    with factory() as session, session.begin():
        session.execute(update(JiraOutbox).where(JiraOutbox.action_item_id == second).values(claimed_until=None))
    with JiraClient(jira_config(config)) as client:
        push_due(factory, settings=config, client=client, force=True)
    pushed = sorted(int(label.rsplit("-", 1)[1]) for issue in jira.issues.values()
                    for label in issue["fields"]["labels"] if label != "hindsight")
    assert pushed == sorted(ids)


def test_making_an_incident_private_scrubs_its_jira_issues(client, auth, factory, jira):
    insider = factory.person(email=OWNER, name="Olivia")
    incident, retro = factory.resolved_incident(auth, commander=insider.email, title="Payment card data exposed")
    item = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                       json={"title": "Rotate the leaked keys", "owner": OWNER, "due_date": in_days(3)}, headers=auth).get_json()
    assert jira.issue("HS-1")["fields"]["summary"] == "Rotate the leaked keys"
    response = client.patch(f"/api/v1/incidents/{incident['id']}", json={"visibility": "private"}, headers=auth)
    assert response.status_code == 200
    fields = jira.issue("HS-1")["fields"]
    assert fields["summary"] == f"Hindsight action item #{item['id']}"
    assert "Payment" not in fields["description"] and "Rotate" not in fields["description"]


def test_a_label_on_a_foreign_issue_changes_nothing(client, auth, retro, jira):
    import hashlib
    import hmac
    import json as jsonlib

    item = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                       json={"title": "Fence the primary", "owner": OWNER, "due_date": in_days(5)}, headers=auth).get_json()
    forged = jira.issue("HS-1")
    forged = jsonlib.loads(jsonlib.dumps(forged))
    forged["key"] = "OTHER-77"
    forged["id"] = "99077"
    forged["fields"]["updated"] = "2099-01-01T00:00:00.000+0000"
    forged["fields"]["status"] = {"id": "3", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}}
    body = jsonlib.dumps({"timestamp": 1, "webhookEvent": "jira:issue_updated", "user": "someone",
                          "issue": forged, "changelog": {"id": "1", "items": []}}).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post("/api/v1/integrations/jira/webhook", data=body, content_type="application/json",
                           headers={"X-Hub-Signature": signature})
    assert response.status_code == 204
    assert client.get(f"/api/v1/action-items/{item['id']}", headers=auth).get_json()["status"] == "open"


def test_only_admins_force_a_sync(client, factory):
    _user, headers = factory.user(email="member@example.com")
    response = client.post("/api/v1/sync/jira", headers=headers)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "admin_only"
