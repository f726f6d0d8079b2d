"""Each chat notice, as Slack and Teams receive it: people by name, times in words, a link."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.chat import service
from app.chat.delivery import deliver
from app.chat.jobs import chat_job
from app.chat.messages import when
from app.chat.models import ChatOutbox, ChatStatus
from app.db import get_session
from app.documents.models import DocumentSection
from tests.chat.conftest import POOL, POST_MESSAGE, SLACK, TEAMS, chat_settings, outbox
from tests.fakes.chat import BOT_TOKEN

TEAMS_CARD = "application/vnd.microsoft.card.adaptive"


def settings_of(app):
    return app.extensions["hindsight.settings"]


def test_booking_a_retro_announces_it_on_slack_and_teams_after_the_commit(app, resolved, chat_server):
    incident, retro = resolved(title="Checkout errors", severity="SEV1")
    deadline = datetime.fromisoformat(retro["deadline_at"])
    with app.app_context():
        deadline_words = when(settings_of(app), deadline)

    [slack] = chat_server.received(SLACK)
    assert slack.text.splitlines()[0] == f"Retro booked for #{incident['id']} Checkout errors (SEV1)"
    assert f"It must be held by {deadline_words}." in slack.text
    assert f"Schedule the retro: http://hindsight.test/retrospectives/{retro['id']}/schedule" in slack.text
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", slack.text)  # times in words, never ISO
    # Block Kit, with the plain text as the fallback.
    blocks = slack.body["blocks"]
    assert blocks[0]["text"]["text"] == f"*Retro booked for #{incident['id']} Checkout errors (SEV1)*"
    assert blocks[-1]["elements"][0]["url"] == f"http://hindsight.test/retrospectives/{retro['id']}/schedule"

    [teams] = chat_server.received(TEAMS)
    assert teams.body["type"] == "message"
    card = teams.body["attachments"][0]
    assert card["contentType"] == TEAMS_CARD
    assert card["content"]["type"] == "AdaptiveCard"
    assert card["content"]["body"][0]["text"] == f"Retro booked for #{incident['id']} Checkout errors (SEV1)"
    assert card["content"]["actions"][0] == {
        "type": "Action.OpenUrl", "title": "Schedule the retro",
        "url": f"http://hindsight.test/retrospectives/{retro['id']}/schedule",
    }
    rows = outbox(app)
    assert [(r.channel, r.kind, r.status) for r in rows] == [("slack", "booked", "sent"), ("teams", "booked", "sent")]
    assert all(r.attempts == 1 and r.sent_at is not None for r in rows)


def test_a_resolved_incident_changed_again_is_not_announced_again(app, resolved, client, auth, chat_server):
    incident, _retro = resolved()
    response = client.patch(f"/api/v1/incidents/{incident['id']}", json={"title": "Checkout errors (EU)"}, headers=auth)
    assert response.status_code == 200
    assert len(chat_server.received(SLACK)) == 1
    assert len(outbox(app, kind="booked")) == 2


def test_scheduling_names_the_time_in_words_the_facilitator_and_the_participants(app, factory, resolved, client, auth, chat_server):
    factory.person(name="Fran Facil", email=POOL)
    commander = factory.person(name="Cora Commander", email="cora@example.com")
    incident, retro = resolved(commander=commander.email, title="Checkout errors")
    chat_server.clear()
    slot = datetime.fromisoformat(retro["deadline_at"]) - timedelta(hours=3)
    response = client.patch(f"/api/v1/retrospectives/{retro['id']}",
                            json={"scheduled_for": slot.isoformat(), "facilitator": POOL}, headers=auth)
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        slot_words = when(settings_of(app), slot)
    [slack] = chat_server.received(SLACK)
    lines = slack.text.splitlines()
    assert lines[0] == f"Retro for #{incident['id']} Checkout errors (SEV1) scheduled for {slot_words}"
    assert "Facilitator: Fran Facil." in lines
    assert "Participants: Cora Commander." in lines
    assert "fran@example.com" not in slack.text
    # Moving it says so; the same time again says nothing.
    later = slot + timedelta(hours=1)
    for _ in range(2):  # both changes are taken: only the first moves the meeting
        assert client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": later.isoformat()},
                            headers=auth).status_code == 200
    texts = [r.text.splitlines()[0] for r in chat_server.received(SLACK)]
    with app.app_context():
        assert texts[1].endswith(f"moved to {when(settings_of(app), later)}")
    assert len(texts) == 2


def test_completing_a_retro_gives_the_summary_line_the_item_count_and_the_document(app, resolved, client, auth, make_item, chat_server):
    incident, retro = resolved(title="Checkout errors")
    with app.app_context():
        session = get_session()
        section = session.scalar(select(DocumentSection).where(DocumentSection.retrospective_id == retro["id"],
                                                               DocumentSection.key == "summary"))
        section.body = "**Checkouts failed for 40 minutes** after a bad deploy.\n\nMore detail here."
        session.commit()
    make_item(retro["id"], incident["commander"], date.today() + timedelta(days=7))
    make_item(retro["id"], incident["commander"], date.today() + timedelta(days=8))
    held = datetime.now(timezone.utc) - timedelta(hours=1)  # a retro is completed once its meeting was held
    assert client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": held.isoformat()},
                        headers=auth).status_code == 200
    chat_server.clear()
    response = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"status": "completed"}, headers=auth)
    assert response.status_code == 200, response.get_json()
    [slack] = chat_server.received(SLACK)
    assert slack.text.splitlines() == [
        f"Retro completed for #{incident['id']} Checkout errors (SEV1)",
        "Checkouts failed for 40 minutes after a bad deploy.",
        "2 action items.",
        f"Read the document: http://hindsight.test/retrospectives/{retro['id']}/document",
    ]
    # Once: a later change to the completed retro announces nothing.
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"status": "completed"}, headers=auth)
    assert len(chat_server.received(SLACK)) == 1


def test_an_unscheduled_retro_a_working_day_from_its_deadline_is_announced_once(app, resolved, chat_server):
    incident, retro = resolved(title="Checkout errors")
    chat_server.clear()
    deadline = datetime.fromisoformat(retro["deadline_at"])
    with app.app_context():
        session = get_session()
        settings = settings_of(app)
        early = deadline - timedelta(days=5)
        assert service.queue_at_risk(session, settings=settings, now=early) == []
        close = deadline - timedelta(hours=20)
        assert len(service.queue_at_risk(session, settings=settings, now=close)) == 2
        assert service.queue_at_risk(session, settings=settings, now=close + timedelta(hours=1)) == []
        session.commit()
        assert deliver(session, settings=settings).sent == 2
        session.commit()
        assert service.queue_at_risk(session, settings=settings, now=close + timedelta(hours=2)) == []
        words = when(settings, deadline)
    [slack] = chat_server.received(SLACK)
    assert slack.text.splitlines()[:2] == [
        f"Retro for #{incident['id']} Checkout errors (SEV1) is not scheduled yet",
        f"It must be held by {words}, a working day from now.",
    ]


def test_the_weekly_digest_lists_overdue_items_by_owner_name_once_a_week(app, factory, resolved, make_item, chat_server):
    owner = factory.person(name="Olga Owner", email="olga@example.com")
    incident, retro = resolved(commander=owner.email, title="Checkout errors")
    overdue = make_item(retro["id"], owner.email, date(2026, 11, 30), title="Add a canary")
    make_item(retro["id"], owner.email, date(2026, 11, 30), title="Done already", status="done")
    make_item(retro["id"], owner.email, date(2026, 12, 30), title="Not due yet")
    chat_server.clear()
    monday = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)  # 10:30 in Berlin, a Monday
    with app.app_context():
        session = get_session()
        settings = settings_of(app)
        assert service.queue_digest(session, settings=settings, now=monday - timedelta(days=1)) == []
        assert len(service.queue_digest(session, settings=settings, now=monday)) == 2
        assert service.queue_digest(session, settings=settings, now=monday + timedelta(hours=3)) == []
        assert service.queue_digest(session, settings=settings, now=monday + timedelta(hours=20)) == []
        session.commit()
        deliver(session, settings=settings)
        session.commit()
    [slack] = chat_server.received(SLACK)
    assert slack.text.splitlines() == [
        "This week, 1 action item is overdue",
        f"#{overdue} Add a canary: Olga Owner, due Mon 30 Nov",
        "See the overdue items: http://hindsight.test/action-items?overdue=true",
    ]


@pytest.mark.parametrize(("now", "week"), [
    (datetime(2026, 12, 7, 7, 59, tzinfo=timezone.utc), None),  # Mon 08:59 in Berlin: not yet
    (datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc), "2026-W50"),  # Mon 09:00
    (datetime(2026, 12, 8, 7, 59, tzinfo=timezone.utc), "2026-W50"),  # Tue 08:59: a scheduler back from a restart
    (datetime(2026, 12, 8, 8, 0, tzinfo=timezone.utc), None),  # a day late: that week's is not sent any more
    (datetime(2026, 12, 13, 22, 0, tzinfo=timezone.utc), None),  # Sun 23:00
    (datetime(2027, 1, 4, 8, 30, tzinfo=timezone.utc), "2027-W01"),
])
def test_the_digest_is_due_from_its_hour_for_a_day_so_a_restart_does_not_skip_a_week(app, now, week):
    assert service.digest_week(settings_of(app), now) == week


def test_a_scheduler_down_at_the_digests_hour_sends_it_when_it_is_back(app, factory, resolved, make_item, chat_server):
    owner = factory.person(name="Olga Owner", email="olga@example.com")
    _incident, retro = resolved(commander=owner.email)
    make_item(retro["id"], owner.email, date(2026, 11, 30))
    back_on_tuesday = datetime(2026, 12, 8, 6, 0, tzinfo=timezone.utc)  # down from Monday morning until 07:00
    with app.app_context():
        session = get_session()
        assert len(service.queue_digest(session, settings=settings_of(app), now=back_on_tuesday)) == 2
        assert service.queue_digest(session, settings=settings_of(app), now=back_on_tuesday + timedelta(hours=1)) == []
        session.rollback()


def test_a_private_incident_is_announced_with_a_link_and_nothing_else(app, factory, resolved, client, auth, make_item, chat_server):
    factory.person(name="Fran Facil", email=POOL)
    incident, retro = resolved(title="Payroll data leak", visibility="private")
    held = datetime.now(timezone.utc) - timedelta(hours=1)  # completed once its meeting was held
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": held.isoformat(), "facilitator": POOL}, headers=auth)
    item = make_item(retro["id"], incident["commander"], date(2026, 11, 30), title="Rotate the payroll keys")
    assert client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"status": "completed"},
                        headers=auth).status_code == 200
    with app.app_context():
        service.queue_digest(get_session(), settings=settings_of(app), force=True)
        get_session().commit()
        deliver(get_session(), settings=settings_of(app))
        get_session().commit()
    texts = [r.text for r in chat_server.received(SLACK)] + [r.text for r in chat_server.received(TEAMS)]
    assert len(texts) == 8
    base = "http://hindsight.test"
    assert texts[:3] == [
        f"A private incident's retro was booked.\nOpen in Hindsight: {base}/retrospectives/{retro['id']}/schedule",
        f"A private incident's retro was scheduled.\nOpen in Hindsight: {base}/incidents/{incident['id']}#retrospective",
        f"A private incident's retro was completed.\nOpen in Hindsight: {base}/retrospectives/{retro['id']}/document",
    ]
    assert f"An action item of a private incident: {base}/action-items/{item}" in texts[3]
    for text in texts:
        for secret in ("Payroll", "payroll", "Fran", "SEV1", incident["commander"]):
            assert secret not in text


def test_a_bot_token_posts_with_chat_post_message_to_the_channel(make_app, resolved, chat_server):
    app = make_app(**chat_settings(chat_server, slack=chat_server.slack_bot_settings(), teams={}))
    from tests.conftest import Factory

    factory = Factory(app)
    _user, auth = factory.user(admin=True)
    factory.resolved_incident(auth, title="Checkout errors")
    [posted] = chat_server.received(POST_MESSAGE)
    assert posted.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert posted.body["channel"] == "#retros"
    assert posted.body["text"].startswith("Retro booked for ")
    assert posted.body["blocks"][0]["type"] == "section"
    assert chat_server.received(TEAMS) == []


def test_slack_answering_ok_false_is_a_failure_kept_for_a_retry(make_app, chat_server):
    app = make_app(**chat_settings(chat_server, slack=chat_server.slack_bot_settings(), teams={}))
    from tests.conftest import Factory

    factory = Factory(app)
    _user, auth = factory.user(admin=True)
    chat_server.slack_error("not_in_channel")
    factory.resolved_incident(auth)
    [row] = outbox(app)
    assert (row.status, row.error_kind, row.attempts) == (ChatStatus.PENDING, "channel", 1)
    assert "not_in_channel" in row.last_error
    assert chat_server.received(POST_MESSAGE) == []  # the one request was refused


def test_which_messages_go_where_is_a_setting(make_app, chat_server):
    app = make_app(**chat_settings(chat_server, teams=chat_server.teams_settings(messages=["digest"])))
    from tests.conftest import Factory

    factory = Factory(app)
    _user, auth = factory.user(admin=True)
    factory.resolved_incident(auth)
    assert len(chat_server.received(SLACK)) == 1
    assert chat_server.received(TEAMS) == []
    assert [r.channel for r in outbox(app)] == ["slack"]


def test_chat_is_off_until_configured(make_app, chat_server, caplog):
    app = make_app(retro={"facilitator_pool": [POOL]})
    from tests.conftest import Factory

    factory = Factory(app)
    _user, auth = factory.user(admin=True)
    factory.resolved_incident(auth)
    assert outbox(app) == []
    assert chat_server.received(ok_only=False) == []
    with app.app_context():
        assert chat_job(get_session(), settings=settings_of(app)) == {"skipped": "chat is off"}


def test_a_bad_messages_setting_is_refused_naming_the_key():
    from config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="slack.messages"):
        load_settings(environ={"HINDSIGHT_SLACK_MESSAGES": "booked,everything"})
