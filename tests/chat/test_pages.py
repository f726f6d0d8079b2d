"""The Integrations admin page: who may see it, what it says in words, and its test message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.actions.models import JiraOutbox
from app.chat.models import ChatOutbox
from app.db import get_session, utcnow
from tests.chat.conftest import POST_MESSAGE, SLACK, TEAMS, chat_settings, outbox
from tests.chat.test_delivery import queue, run
from tests.web import Page, csrf_token, sign_in

PAGE = "/admin/integrations"


@pytest.fixture
def admin_web(app, factory):
    factory.user(admin=True, email="root@example.com", name="Rita Root")
    return sign_in(app, "root@example.com")


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(f"{PAGE}/slack/test").status_code in (302, 400)  # no CSRF token or no user: never sent


def test_only_admins_see_it_and_the_admin_page_links_it(app, factory, admin_web, chat_server):
    factory.user(email="uma@example.com", name="Uma User")
    web = sign_in(app, "uma@example.com")
    response = web.get(PAGE)
    assert response.status_code == 403
    assert "Only admins" in Page.of(response).text
    assert not Page.of(web.get("/")).find_all("a", href=PAGE)
    token = csrf_token(web.get("/").get_data(as_text=True))
    assert web.post(f"{PAGE}/slack/test", data={"csrf_token": token}).status_code == 403
    assert chat_server.received(ok_only=False) == []
    assert Page.of(admin_web.get("/")).find("a", href="/admin").text == "Admin"
    assert Page.of(admin_web.get("/admin")).find("a", href=PAGE).text == "Integrations"


def test_the_page_says_what_is_on_the_last_message_and_the_last_error_in_words(app, admin_web, chat_server):
    queue(app, "First")
    run(app)
    queue(app, "Second")
    chat_server.stop()
    try:
        run(app)
    finally:
        chat_server.start()
    page = Page.of(admin_web.get(PAGE))
    slack, teams, jira = page.by_id("integration-slack"), page.by_id("integration-teams"), page.by_id("integration-jira")
    assert "On" in slack.text and "Last message sent: never" not in slack.text
    assert "Slack did not answer (connection refused)." in slack.text
    assert "1 waiting to be sent." in slack.text
    assert "Microsoft Teams did not answer (connection refused)." in teams.text
    assert "Off" in jira.text and "HINDSIGHT_JIRA_URL" in jira.text
    assert "Last sync: never" in jira.text
    for raw in ("Errno", "HTTPConnectionPool", "unreachable", "Traceback", "+00:00"):
        assert raw not in page.text
    # Each chat channel has its test button; Jira has none.
    assert page.find_all("form", action=f"{PAGE}/slack/test") and page.find_all("form", action=f"{PAGE}/teams/test")
    assert not page.find_all("form", action=f"{PAGE}/jira/test")
    assert page.by_id("integration-confluence") and page.by_id("integration-mail")


def test_a_jira_failure_is_said_in_words(app, admin_web, resolved, make_item):
    incident, retro = resolved()
    item = make_item(retro["id"], incident["commander"], utcnow().date())
    with app.app_context():
        session = get_session()
        session.add(JiraOutbox(action_item_id=item, last_error="[timeout] HTTPSConnectionPool read timed out (30s)"))
        session.commit()
    jira = Page.of(admin_web.get(PAGE)).by_id("integration-jira")
    assert "Jira did not answer in time." in jira.text and "HTTPSConnectionPool" not in jira.text


def test_sending_a_test_message_says_it_was_sent(app, admin_web, chat_server):
    token = csrf_token(admin_web.get(PAGE).get_data(as_text=True))
    response = admin_web.post(f"{PAGE}/slack/test", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)
    page = Page.of(admin_web.get(PAGE))
    flash = page.find("div", role="status")
    assert flash.text == "Test message sent to Slack."
    [sent] = chat_server.received(SLACK)
    assert sent.text.startswith("Hindsight can post here.")
    admin_web.post(f"{PAGE}/teams/test", data={"csrf_token": token})
    assert chat_server.received(TEAMS)[0].body["attachments"][0]["content"]["body"][0]["text"] == "Hindsight can post here."
    assert outbox(app) == []  # a test goes out at once, never through the outbox


@pytest.mark.parametrize(("fail", "words"), [
    (lambda fake: fake.fail(500, "internal_error"), "Slack had a problem of its own."),
    (lambda fake: fake.fail(429, "rate_limited", retry_after="30"), "Slack asked Hindsight to slow down (too many messages): try again in a minute."),
    (lambda fake: fake.fail(404, "no_service"), "The webhook address no longer exists"),
    (lambda fake: fake.stop(), "Slack did not answer (connection refused)."),
])
def test_a_failed_test_message_is_said_in_words_as_an_error(app, admin_web, chat_server, fail, words):
    token = csrf_token(admin_web.get(PAGE).get_data(as_text=True))
    fail(chat_server)
    try:
        admin_web.post(f"{PAGE}/slack/test", data={"csrf_token": token})
    finally:
        chat_server.start() if chat_server._server is None else None
    flash = Page.of(admin_web.get(PAGE)).find("div", role="alert")
    assert "error" in flash.attrs["class"]
    assert flash.text.startswith("The test message was not sent.") and words in flash.text
    for raw in ("internal_error", "no_service", "HTTP", "Errno", "429", "500"):
        assert raw not in flash.text


def test_a_test_message_to_a_channel_that_is_off_says_so(make_app, factory, chat_server):
    app = make_app(**chat_settings(chat_server, teams={}))
    from tests.conftest import Factory

    Factory(app).user(admin=True, email="root@example.com")
    web = sign_in(app, "root@example.com")
    page = Page.of(web.get(PAGE))
    assert "Off" in page.by_id("integration-teams").text and "HINDSIGHT_TEAMS_WEBHOOK_URL" in page.text
    assert not page.find_all("form", action=f"{PAGE}/teams/test")
    token = csrf_token(web.get(PAGE).get_data(as_text=True))
    web.post(f"{PAGE}/teams/test", data={"csrf_token": token})
    flash = Page.of(web.get(PAGE)).find("div", role="alert")
    assert flash.text == "Microsoft Teams is off: set it up in the settings first."
    assert web.post(f"{PAGE}/pigeon/test", data={"csrf_token": token}).status_code == 404


def test_the_test_button_needs_the_csrf_token(admin_web, chat_server):
    response = admin_web.post(f"{PAGE}/slack/test")
    assert response.status_code == 400
    assert chat_server.received(ok_only=False) == []


def test_a_given_up_message_is_said_so(app, admin_web, chat_server):
    queue(app, "Old")
    with app.app_context():
        session = get_session()
        session.execute(update(ChatOutbox).values(created_at=utcnow() - timedelta(hours=30)))
        session.commit()
    chat_server.fail(500, times=2)
    run(app)
    slack = Page.of(admin_web.get(PAGE)).by_id("integration-slack")
    assert "Slack had a problem of its own. That message was given up." in slack.text


def test_slack_refusing_the_token_is_said_in_words_and_a_test_message_that_goes_through_sends_what_waits(
    make_app, chat_server,
):
    """chat.postMessage's 200 {"ok": false} is a failure: never "sent", said in words, held until fixed."""
    app = make_app(**chat_settings(chat_server, slack=chat_server.slack_bot_settings(), teams={}))
    from tests.conftest import Factory

    Factory(app).user(admin=True, email="root@example.com")
    web = sign_in(app, "root@example.com")
    queue(app, "Waiting")
    chat_server.slack_error("invalid_auth")
    run(app)
    slack = Page.of(web.get(PAGE)).by_id("integration-slack")
    assert "Slack refused Hindsight's credentials: check the token or webhook address in the settings." in slack.text
    assert "Last message sent: never" in slack.text and "1 waiting to be sent." in slack.text
    assert "invalid_auth" not in slack.text
    [waiting] = outbox(app)
    assert waiting.next_attempt_at > utcnow() + timedelta(minutes=30)
    assert run(app).outcomes == {}  # held: no burst of refused requests

    # The token is fixed (here: Slack takes it again) and the admin tests it: what waits goes at the next run.
    token = csrf_token(web.get(PAGE).get_data(as_text=True))
    web.post(f"{PAGE}/slack/test", data={"csrf_token": token})
    assert Page.of(web.get(PAGE)).find("div", role="status").text == "Test message sent to Slack."
    assert run(app).sent == 1
    assert [r.text.splitlines()[0] for r in chat_server.received(POST_MESSAGE)] == ["Hindsight can post here.", "Waiting"]


def test_a_message_slack_refused_as_such_is_said_given_up(app, admin_web, chat_server):
    queue(app, "Too long")
    chat_server.fail(400, "invalid_payload")
    run(app)
    slack = Page.of(admin_web.get(PAGE)).by_id("integration-slack")
    assert "Slack refused the message (the details are in the logs). That message was given up." in slack.text
