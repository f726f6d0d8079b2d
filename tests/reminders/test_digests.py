"""Reminder digests: one email per owner per day, each reminder once, through a real SMTP server."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.db import get_session, job_session
from app.reminders import service
from app.reminders.models import ReminderLog
from tests.reminders.conftest import today


def run(client, auth, **body):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/reminders/run", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_one_digest_per_owner_lists_overdue_today_and_soon_with_links(
    client, auth, factory, resolved, make_item, smtp_server
):
    incident, retro = resolved(title="Checkout errors")
    maya = factory.person(name="Maya Chen", email="maya@example.com")
    dev = factory.person(name="Dev Patel", email="dev@example.com")
    overdue = make_item(retro["id"], maya.email, -2, title="Add a canary", jira_key="OPS-7")
    due_today = make_item(retro["id"], maya.email, 0, title="Alert on queue depth")
    soon = make_item(retro["id"], maya.email, 3, title="Runbook for failover")
    make_item(retro["id"], maya.email, 4, title="Too far away")
    make_item(retro["id"], maya.email, -1, title="Already done", status="done")
    make_item(retro["id"], maya.email, -1, title="Not doing it", status="wont_do")
    dev_item = make_item(retro["id"], dev.email, 1, title="Load test", status="in_progress")

    result = run(client, auth)

    assert result["emails_sent"] == 2
    assert result["items"] == 4
    assert result["as_of"] == today().isoformat()
    (mail,) = smtp_server.messages(to=maya.email)
    assert mail.to == "maya@example.com"
    assert mail.mail_from == "hindsight@example.com"
    assert "3 action items" in mail.subject and "1 overdue" in mail.subject
    text = mail.part("text/plain")
    html = mail.part("text/html")
    for body in (text, html):
        assert "Add a canary" in body and "Alert on queue depth" in body and "Runbook for failover" in body
        assert "Too far away" not in body and "Already done" not in body and "Not doing it" not in body
        assert f"http://hindsight.test/action-items/{overdue}" in body
        assert f"http://hindsight.test/action-items/{due_today}" in body
        assert f"http://hindsight.test/action-items/{soon}" in body
        assert "https://jira.example.com/browse/OPS-7" in body
        assert f"#{incident['id']} Checkout errors" in body
    assert text.index("Overdue") < text.index("Add a canary") < text.index("Due today") < text.index(
        "Alert on queue depth") < text.index("Due soon") < text.index("Runbook for failover")
    assert "2 days overdue" in text
    (dev_mail,) = smtp_server.messages(to=dev.email)
    assert f"/action-items/{dev_item}" in dev_mail.part("text/plain")
    assert "Add a canary" not in dev_mail.part("text/plain")


def test_the_same_reminder_never_goes_twice_a_day_but_again_the_next_day(
    client, auth, factory, resolved, make_item, smtp_server
):
    _, retro = resolved()
    owner = factory.person()
    make_item(retro["id"], owner.email, -1)

    assert run(client, auth)["emails_sent"] == 1
    assert run(client, auth)["emails_sent"] == 0
    assert run(client, auth, as_of=today().isoformat())["emails_sent"] == 0
    assert len(smtp_server.messages()) == 1

    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert run(client, auth, as_of=tomorrow) == {
        "as_of": tomorrow, "emails_sent": 1, "items": 1, "failed": 0, "mail_enabled": True,
    }
    assert len(smtp_server.messages()) == 2


def test_an_item_falling_due_after_the_days_digest_waits_for_the_next_one(
    client, auth, factory, resolved, make_item, smtp_server
):
    _, retro = resolved()
    owner = factory.person()
    make_item(retro["id"], owner.email, 0, title="First")
    assert run(client, auth)["emails_sent"] == 1
    make_item(retro["id"], owner.email, 1, title="Second")

    assert run(client, auth)["emails_sent"] == 0
    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert run(client, auth, as_of=tomorrow)["items"] == 2
    last = smtp_server.messages()[-1].part("text/plain")
    assert "First" in last and "Second" in last


def test_html_part_escapes_what_people_typed(client, auth, factory, resolved, make_item, smtp_server):
    _, retro = resolved(title="Cache <b>poisoning</b>")
    owner = factory.person()
    make_item(retro["id"], owner.email, 0, title="<script>alert(1)</script> & fix")
    run(client, auth)
    (mail,) = smtp_server.messages()
    html = mail.part("text/html")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; fix" in html
    assert "Cache &lt;b&gt;poisoning&lt;/b&gt;" in html
    assert "<script>alert(1)</script> & fix" in mail.part("text/plain")


def test_private_incident_items_go_only_to_owners_who_may_see_them_and_say_little(
    client, auth, factory, resolved, make_item, smtp_server
):
    incident, retro = resolved(title="Payroll data leak", visibility="private")
    commander = incident["commander"]
    outsider = factory.person(email="outsider@example.com")
    visible = make_item(retro["id"], commander, 0, title="Rotate the payroll keys")
    # Owners of private items must be on the team; one who no longer may see it gets nothing.
    make_item(retro["id"], outsider.email, 0, title="Secret detail")

    result = run(client, auth)

    assert result["emails_sent"] == 1
    assert smtp_server.messages(to=outsider.email) == []
    (mail,) = smtp_server.messages(to=commander)
    for body in (mail.part("text/plain"), mail.part("text/html"), mail.subject):
        assert "Payroll" not in body and "payroll" not in body
    assert f"/action-items/{visible}" in mail.part("text/plain")
    assert "private incident" in mail.part("text/plain")


def test_smtp_refusing_then_recovering_every_reminder_arrives_exactly_once(
    client, auth, factory, resolved, make_item, smtp_server
):
    _, retro = resolved()
    owners = [factory.person() for _ in range(3)]
    for owner in owners:
        make_item(retro["id"], owner.email, -1)
        make_item(retro["id"], owner.email, 2)

    smtp_server.refuse("451 4.3.0 Mailbox busy, try later")
    refused = run(client, auth)
    assert refused["emails_sent"] == 0 and refused["failed"] == 3
    assert smtp_server.messages() == []
    failures = client.get("/api/v1/reminders/failures", headers=auth).get_json()["items"]
    assert sorted(f["recipient"] for f in failures) == sorted(o.email for o in owners)
    assert all(f["kind"] == "digest" and "451" in f["last_error"] and f["items"] == 2 for f in failures)

    smtp_server.refuse("554 5.7.1 Rejected", at="RCPT")
    assert run(client, auth)["failed"] == 3

    smtp_server.accept()
    recovered = run(client, auth)
    assert recovered == {"as_of": today().isoformat(), "emails_sent": 3, "items": 6, "failed": 0,
                         "mail_enabled": True}
    assert run(client, auth)["emails_sent"] == 0
    assert sorted(m.to for m in smtp_server.messages()) == sorted(o.email for o in owners)
    assert client.get("/api/v1/reminders/failures", headers=auth).get_json()["items"] == []


def test_smtp_down_nothing_is_recorded_as_sent_and_the_next_run_sends(
    app, client, auth, factory, resolved, make_item, smtp_server
):
    _, retro = resolved()
    owner = factory.person()
    item = make_item(retro["id"], owner.email, 0)
    smtp_server.stop()
    assert run(client, auth)["failed"] == 1
    with app.app_context():
        (row,) = get_session().scalars(select(ReminderLog).where(ReminderLog.action_item_id == item)).all()
        assert row.status == "failed" and row.sent_at is None and "cannot reach" in row.last_error
    smtp_server.start()
    assert run(client, auth)["emails_sent"] == 1
    with app.app_context():
        (row,) = get_session().scalars(select(ReminderLog).where(ReminderLog.action_item_id == item)).all()
        assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert len(smtp_server.messages()) == 1


@pytest.mark.committing  # three threads, three connections, racing for real
def test_racing_runs_send_each_digest_once(app, factory, resolved, make_item, smtp_server):
    _, retro = resolved()
    owners = [factory.person() for _ in range(6)]
    for owner in owners:
        for due in (-3, 0, 2):
            make_item(retro["id"], owner.email, due)
    settings = app.extensions["hindsight.settings"]
    results = []
    start = threading.Barrier(3)

    def racer() -> None:
        start.wait()
        with job_session(app) as session:
            results.append(service.send_digests(session, as_of=today(), settings=settings))

    threads = [threading.Thread(target=racer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 3
    assert sum(r.emails_sent for r in results) == 6
    assert sum(r.items for r in results) == 18
    assert sorted(m.to for m in smtp_server.messages()) == sorted(o.email for o in owners)


def test_only_admins_run_reminders_and_bad_dates_are_named(client, factory, auth):
    _, headers = factory.user()
    response = client.post("/api/v1/reminders/run", json={}, headers=headers)
    assert response.status_code == 403
    assert client.get("/api/v1/reminders/failures", headers=headers).status_code == 403
    bad = client.post("/api/v1/reminders/run", json={"as_of": "2020-02-30"}, headers=auth)
    assert bad.status_code == 422 and "as_of" in bad.get_json()["error"]["fields"]
    far = client.post("/api/v1/reminders/run", json={"as_of": "9999-12-31"}, headers=auth)
    assert far.status_code == 422 and "as_of" in far.get_json()["error"]["fields"]


def test_mail_off_sends_nothing_and_records_nothing(make_app, factory, smtp_server):
    off = make_app(smtp={"host": ""})
    with off.app_context():
        session = get_session()
        run_result = service.send_digests(session, as_of=today(), settings=off.extensions["hindsight.settings"])
        assert run_result.mail_enabled is False and run_result.emails_sent == 0
        assert session.scalars(select(ReminderLog)).all() == []


def test_digest_day_follows_the_hour_in_the_organisation_time_zone(make_app):
    from config import load_settings

    settings = load_settings(overrides={"timezone": "America/New_York", "reminders": {"hour": 9}}, environ={})
    before = datetime(2026, 3, 10, 12, 59, tzinfo=timezone.utc)  # 08:59 in New York (EDT)
    after = datetime(2026, 3, 10, 13, 0, tzinfo=timezone.utc)
    late = datetime(2026, 3, 11, 3, 30, tzinfo=timezone.utc)  # 23:30 on the 10th in New York
    assert service.digest_day(settings, before) is None
    assert service.digest_day(settings, after).isoformat() == "2026-03-10"
    assert service.digest_day(settings, late).isoformat() == "2026-03-10"


def test_a_claim_left_by_a_run_that_died_while_sending_is_sent_by_the_next_run(
    app, client, auth, factory, resolved, make_item, smtp_server
):
    _incident, retro = resolved()
    alive = factory.person(email="alive@example.com")
    dead = factory.person(email="dead@example.com")
    alive_item = make_item(retro["id"], alive.email, 0)
    dead_item = make_item(retro["id"], dead.email, 0)
    now = datetime.now(timezone.utc)
    with app.app_context():
        session = get_session()
        # Another run claimed both a moment ago and is still sending the first; the second run died 20 min ago.
        for item_id, owner, claimed in ((alive_item, alive, now), (dead_item, dead, now - timedelta(minutes=20))):
            session.add(ReminderLog(action_item_id=item_id, owner_id=owner.id, reason="due_today", day=today(),
                                    status="sending", claim_token="0" * 32, attempts=1, sent_at=claimed,
                                    created_at=claimed, updated_at=claimed))
        session.commit()

    result = run(client, auth)

    assert result["emails_sent"] == 1
    assert [m.to for m in smtp_server.messages()] == [dead.email]
    with app.app_context():
        statuses = dict(get_session().execute(select(ReminderLog.action_item_id, ReminderLog.status)).all())
    assert statuses == {alive_item: "sending", dead_item: "sent"}
