"""Delivering the chat outbox: backoff, Retry-After, a channel down, restarts and two senders at once."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from app.chat import service
from app.chat.delivery import DeliveryRun, chat_channels, deliver
from app.chat.models import ChatKind, ChatOutbox, ChatStatus
from app.db import commit, get_session, outcome_session, utcnow
from app.incidents import flows as incident_flows
from app.incidents.models import Incident
from app.incidents.schemas import IncidentUpdate
from integrations.chat import ChatMessage
from tests.chat.conftest import POST_MESSAGE, SLACK, TEAMS, chat_settings, outbox


def settings_of(app):
    return app.extensions["hindsight.settings"]


def queue(app, text="Hello", *, kind=ChatKind.SCHEDULED):
    """Record a message for every channel, committed; returns the rows' ids."""
    with app.app_context():
        session = get_session()
        ids = service.queue(session, kind=kind, message=ChatMessage(headline=text, link="http://hindsight.test/x"),
                            settings=settings_of(app))
        session.commit()
        return ids


def run(app, now=None):
    with app.app_context():
        session = get_session()
        result = deliver(session, settings=settings_of(app), now=now)
        session.commit()
        return result


def row(app, row_id):
    [found] = [r for r in outbox(app) if r.id == row_id]
    return found


def test_a_failure_is_retried_with_exponential_backoff_then_sent_once(app, chat_server):
    slack_id, teams_id = queue(app)
    chat_server.fail(500, "internal_error", times=2)
    start = utcnow()
    assert run(app).failed == 2
    first = row(app, slack_id)
    assert (first.status, first.attempts, first.error_kind) == (ChatStatus.PENDING, 1, "server_error")
    # 30 s base, jittered to 50-100 %.
    assert start + timedelta(seconds=14) <= first.next_attempt_at <= utcnow() + timedelta(seconds=31)
    assert run(app).sent == 0  # not due yet: nothing is claimed
    assert chat_server.received(ok_only=False).__len__() == 2

    later = first.next_attempt_at + timedelta(seconds=40)
    chat_server.fail(500, "internal_error")
    run(app, now=later)
    second = row(app, slack_id)
    assert second.attempts == 2
    # The second wait is twice the first (60 s base, jittered), counted from that run.
    assert second.next_attempt_at - utcnow() >= timedelta(seconds=29)

    run(app, now=later + timedelta(minutes=5))
    assert [r.status for r in outbox(app)] == [ChatStatus.SENT, ChatStatus.SENT]
    assert len(chat_server.received(SLACK)) == 1 and len(chat_server.received(TEAMS)) == 1
    run(app, now=later + timedelta(hours=1))
    assert len(chat_server.received(SLACK)) == 1


def test_a_429_waits_exactly_its_retry_after_and_holds_back_the_channel(app, chat_server):
    first_slack, first_teams = queue(app, "First")
    second_slack, second_teams = queue(app, "Second")
    chat_server.fail(429, "rate_limited", retry_after="120")
    before = utcnow()
    result = run(app)
    assert (result.failed, result.deferred) == (1, 1)
    limited, held = row(app, first_slack), row(app, second_slack)
    assert limited.error_kind == "rate_limited"
    assert before + timedelta(seconds=119) <= limited.next_attempt_at <= utcnow() + timedelta(seconds=121)
    # The second Slack message was not tried: it waits as long, and the try is not counted.
    assert (held.status, held.attempts, held.next_attempt_at) == (ChatStatus.PENDING, 0, limited.next_attempt_at)
    assert [r.text.splitlines()[0] for r in chat_server.received(TEAMS)] == ["First", "Second"]
    assert chat_server.received(SLACK) == []

    assert run(app, now=utcnow() + timedelta(seconds=60)).sent == 0
    assert run(app, now=utcnow() + timedelta(seconds=125)).sent == 2
    assert [r.text.splitlines()[0] for r in chat_server.received(SLACK)] == ["First", "Second"]


def test_chat_post_message_rate_limited_with_a_429_waits_its_retry_after(make_app, chat_server):
    app = make_app(**chat_settings(chat_server, slack=chat_server.slack_bot_settings(), teams={}))
    [slack_id] = queue(app)
    chat_server.rate_limit(retry_after="30")
    before = utcnow()
    assert run(app).failed == 1
    limited = row(app, slack_id)
    assert (limited.status, limited.error_kind) == (ChatStatus.PENDING, "rate_limited")
    assert before + timedelta(seconds=29) <= limited.next_attempt_at <= utcnow() + timedelta(seconds=31)
    # A message recorded meanwhile is not sent into the limit either: it waits as long.
    [later_id] = queue(app, "Later")
    assert run(app).sent == 0
    assert row(app, later_id).next_attempt_at == limited.next_attempt_at
    assert run(app, now=utcnow() + timedelta(seconds=31)).sent == 2
    assert [r.text.splitlines()[0] for r in chat_server.received(POST_MESSAGE)] == ["Hello", "Later"]


@pytest.mark.parametrize(("error", "kind"), [("invalid_auth", "auth"), ("channel_not_found", "channel")])
def test_a_refusal_that_needs_a_person_waits_the_longest_backoff_and_holds_the_channel(make_app, chat_server, error, kind):
    app = make_app(**chat_settings(chat_server, slack=chat_server.slack_bot_settings(), teams={}))
    first, second = queue(app, "First")[0], queue(app, "Second")[0]
    chat_server.slack_error(error)
    before = utcnow()
    result = run(app)
    assert (result.failed, result.deferred, result.sent) == (1, 1, 0)
    refused, held = row(app, first), row(app, second)
    longest = timedelta(seconds=settings_of(app).chat.retry_max_seconds)
    # Not 30 s, 60 s, ...: the same refusal again until someone fixes it; one try an hour, not a burst.
    assert (refused.status, refused.error_kind) == (ChatStatus.PENDING, kind)
    assert before + longest <= refused.next_attempt_at <= utcnow() + longest
    assert error in refused.last_error
    assert (held.attempts, held.next_attempt_at) == (0, refused.next_attempt_at)
    assert run(app, now=utcnow() + timedelta(minutes=30)).outcomes == {}
    assert len(chat_server.received(POST_MESSAGE, ok_only=False)) == 1


def test_a_message_the_channel_refuses_as_such_is_given_up_at_once(app, chat_server):
    slack_id, teams_id = queue(app)
    chat_server.fail(400, "invalid_payload")
    result = run(app)
    assert (result.given_up, result.sent) == (1, 1)
    refused = row(app, slack_id)
    assert (refused.status, refused.error_kind) == (ChatStatus.GIVEN_UP, "rejected")
    assert run(app, now=utcnow() + timedelta(days=1)).outcomes == {}  # the same body would be refused again


def test_a_channel_refusing_connections_keeps_its_messages_until_it_is_back(app, chat_server):
    slack_id, _teams_id = queue(app, "One")
    queue(app, "Two")
    chat_server.stop()
    try:
        result = run(app)
    finally:
        chat_server.start()
    # One try per channel: the second message of each is not tried against a channel that is down.
    assert (result.failed, result.deferred) == (2, 2)
    failed = row(app, slack_id)
    assert failed.error_kind == "unreachable" and "refused" in failed.last_error.lower()
    run(app, now=utcnow() + timedelta(hours=2))
    for path in (SLACK, TEAMS):
        assert [r.text.splitlines()[0] for r in chat_server.received(path)] == ["One", "Two"]


def test_a_channel_that_does_not_answer_in_time_times_out(make_app, chat_server):
    app = make_app(**chat_settings(chat_server, teams={}, chat={"read_timeout_seconds": 0.3}))
    [slack_id] = queue(app)
    chat_server.delay = 1.0
    run(app)
    assert row(app, slack_id).error_kind == "timeout"


def test_a_message_claimed_by_a_process_that_died_is_sent_by_the_next_run_exactly_once(app, chat_server):
    dead, alive = queue(app, "Claimed by a dead process"), queue(app, "Claimed by a live process")
    now = utcnow()
    with app.app_context():
        session = get_session()
        session.execute(update(ChatOutbox).where(ChatOutbox.id.in_(dead)).values(
            status=ChatStatus.SENDING, attempts=1, claim_token="dead", claimed_until=now - timedelta(seconds=1)))
        session.execute(update(ChatOutbox).where(ChatOutbox.id.in_(alive)).values(
            status=ChatStatus.SENDING, attempts=1, claim_token="alive", claimed_until=now + timedelta(minutes=5)))
        session.commit()
    assert run(app).sent == 2
    assert [r.text.splitlines()[0] for r in chat_server.received(SLACK)] == ["Claimed by a dead process"]
    assert {r.attempts for r in outbox(app) if r.id in dead} == {2}
    assert run(app, now=now + timedelta(minutes=1)).sent == 0  # sent rows are never claimed again
    assert len(chat_server.received(SLACK)) == 1


@pytest.mark.committing  # the second run is another process: its own connection, seeing what the first committed
def test_an_outcome_is_not_recorded_over_another_runs_claim(make_app, chat_server):
    """A run whose claim ran out while it sent leaves the row to the run that claimed it since."""
    app = make_app(**chat_settings(chat_server, teams={}))
    [slack_id] = queue(app)
    claim = timedelta(seconds=settings_of(app).chat.claim_seconds)
    other_run: list[object] = []

    def another_process_takes_over() -> None:
        # While the first run waits for Slack: a run whose clock is past the first claim's end takes the row.
        # (Were the first run's transaction still open, SQLite would not let it, nor PostgreSQL's row lock.)
        try:
            with outcome_session(app) as session:
                other_run.append(deliver(session, settings=settings_of(app), now=utcnow() + claim + timedelta(seconds=1)))
        except Exception as exc:  # noqa: BLE001 - reported below
            other_run.append(exc)

    chat_server.fail(500, "internal_error")  # the first run's request fails; the other run's is taken
    chat_server.while_answering(another_process_takes_over)
    first = run(app)
    [second] = other_run
    assert isinstance(second, DeliveryRun) and second.sent == 1, second
    assert (first.sent, first.failed, list(first.outcomes)) == (0, 0, [slack_id])
    taken = row(app, slack_id)
    assert (taken.status, taken.attempts, taken.error_kind, taken.claim_token) == (ChatStatus.SENT, 2, None, None)
    assert run(app, now=utcnow() + timedelta(hours=2)).outcomes == {}
    assert len(chat_server.received(SLACK)) == 1


def test_a_process_that_dies_mid_batch_sends_again_only_what_it_had_not_recorded(app, chat_server):
    texts = ["One", "Two", "Three", "Four"]
    for text in texts:
        queue(app, text, kind=ChatKind.BOOKED)
    slack = chat_channels(settings_of(app))["slack"]

    class DiesOnTheThird:
        """Slack, in a process killed while it sends its third message."""

        name = "slack"
        sent = 0

        def send(self, message: ChatMessage) -> None:
            if self.sent == 2:
                raise SystemExit("killed")
            slack.send(message)
            self.sent += 1

    with app.app_context():
        session = get_session()
        with pytest.raises(SystemExit):
            deliver(session, settings=settings_of(app), channels={"slack": DiesOnTheThird()})
        session.rollback()
    rows = outbox(app, channel="slack")
    assert [r.status for r in rows] == [ChatStatus.SENT, ChatStatus.SENT, ChatStatus.SENDING, ChatStatus.SENDING]
    # The restarted scheduler, once the dead claims ran out: the rest, and nothing twice.
    later = utcnow() + timedelta(seconds=settings_of(app).chat.claim_seconds + 1)
    run(app, now=later)
    assert [r.text.splitlines()[0] for r in chat_server.received(SLACK)] == texts


def test_a_run_starts_no_request_its_claim_could_not_cover(make_app, chat_server):
    """Answers that trickle in (each read within the read timeout, the whole not) cannot make a batch outlive
    its claim: the run stops starting requests and leaves the rest, untried, to the next run."""
    timing = {"claim_seconds": 10, "connect_timeout_seconds": 0.5, "read_timeout_seconds": 1, "batch": 3}
    app = make_app(**chat_settings(chat_server, teams={}, chat=timing))
    ids = [queue(app, text)[0] for text in ("One", "Two", "Three")]
    chat_server.trickle = 0.5  # 8 bytes: about 4 s an answer, 12 s for three
    started = time.monotonic()
    result = run(app)
    elapsed = time.monotonic() - started
    assert elapsed < settings_of(app).chat.claim_seconds
    assert (result.sent, result.deferred) == (1, 2)
    waiting = [row(app, row_id) for row_id in ids[1:]]
    assert {(r.status, r.attempts, r.claim_token) for r in waiting} == {(ChatStatus.PENDING, 0, None)}
    chat_server.trickle = 0
    assert run(app).sent == 2
    assert [r.text.splitlines()[0] for r in chat_server.received(SLACK)] == ["One", "Two", "Three"]


@pytest.mark.parametrize(("chat", "ok"), [
    ({}, True),
    ({"batch": 20, "connect_timeout_seconds": 5, "read_timeout_seconds": 10, "claim_seconds": 600}, True),
    ({"batch": 20, "read_timeout_seconds": 60}, False),
    ({"batch": 500}, False),
    ({"batch": 500, "claim_seconds": 15000}, True),
])
def test_a_claim_too_short_for_a_batch_is_refused_naming_the_setting(chat, ok):
    from config import SettingsError, load_settings

    if ok:
        settings = load_settings(overrides={"chat": chat}, environ={})
        assert settings.chat.batch * settings.chat.request_seconds <= settings.chat.claim_seconds / 2
        return
    with pytest.raises(SettingsError, match=r"chat\.claim_seconds .* chat\.batch"):
        load_settings(overrides={"chat": chat}, environ={})


def test_a_message_not_taken_for_a_day_is_given_up(app, chat_server):
    [slack_id, teams_id] = queue(app)
    with app.app_context():
        session = get_session()
        session.execute(update(ChatOutbox).values(created_at=utcnow() - timedelta(hours=25)))
        session.commit()
    chat_server.fail(500, times=2)
    assert run(app).given_up == 2
    assert row(app, slack_id).status == ChatStatus.GIVEN_UP
    assert run(app, now=utcnow() + timedelta(hours=3)).sent == 0


def test_messages_held_behind_a_failing_channel_past_their_day_are_given_up_with_it(app, chat_server):
    """Not one a run, an hour apart: every message of the channel that is past its day goes when its channel fails."""
    old = [queue(app, text)[0] for text in ("Old one", "Old two")]
    [recent, _teams] = queue(app, "Recent")
    with app.app_context():
        session = get_session()
        session.execute(update(ChatOutbox).where(ChatOutbox.channel == "slack", ChatOutbox.id.in_(old))
                        .values(created_at=utcnow() - timedelta(hours=25)))
        session.commit()
    chat_server.stop()
    try:
        result = run(app)
    finally:
        chat_server.start()
    assert (result.given_up, result.failed, result.deferred) == (2, 1, 3)  # Teams: one tried, two held
    assert [(row(app, i).status, row(app, i).error_kind) for i in old] == [(ChatStatus.GIVEN_UP, "unreachable")] * 2
    assert (row(app, recent).status, row(app, recent).attempts) == (ChatStatus.PENDING, 0)


def test_the_messages_are_recorded_in_the_bookings_transaction_and_sent_only_after_its_commit(app, factory, auth, chat_server):
    incident = factory.incident(auth)
    change = IncidentUpdate.model_validate_json(json.dumps({"status": "resolved"}))
    with app.app_context():
        session = get_session()
        caller = factory._caller(session, auth)
        target = session.get(Incident, incident["id"])
        incident_flows.update_incident(session, incident=target, data=change, actor=caller, settings=settings_of(app))
        rows = session.scalars(select(ChatOutbox)).all()
        assert [(r.kind, r.status) for r in rows] == [("booked", "pending"), ("booked", "pending")]
        assert chat_server.received(ok_only=False) == []
        session.rollback()  # the booking is undone: so are its messages, and nothing is sent
        assert session.scalars(select(ChatOutbox)).all() == []
        commit(session)
    assert chat_server.received(ok_only=False) == []

    with app.app_context():
        session = get_session()
        target = session.get(Incident, incident["id"])
        incident_flows.update_incident(session, incident=target, data=change, actor=factory._caller(session, auth),
                                       settings=settings_of(app))
        assert chat_server.received(ok_only=False) == []
        commit(session)
    assert len(chat_server.received(SLACK)) == 1 and len(chat_server.received(TEAMS)) == 1
    assert [r.status for r in outbox(app)] == [ChatStatus.SENT, ChatStatus.SENT]


@pytest.mark.committing  # two threads on their own connections must see each other's commits
def test_two_senders_at_once_never_send_a_message_twice(make_app, chat_server):
    app = make_app(**chat_settings(chat_server, chat={"batch": 3, "read_timeout_seconds": 5}))
    texts = [f"Message {n}" for n in range(8)]
    for text in texts:
        queue(app, text)
    chat_server.delay = 0.05
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            while True:
                with outcome_session(app) as session:
                    if not deliver(session, settings=settings_of(app)).outcomes:
                        return
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for path in (SLACK, TEAMS):
        got = sorted(r.text.splitlines()[0] for r in chat_server.received(path))
        assert got == sorted(texts)
    assert {r.status for r in outbox(app)} == {ChatStatus.SENT}


def test_a_webhook_url_never_reaches_the_row_or_the_log(make_app, chat_server, caplog):
    secret = "/services/T000/B000/XXXXSECRET"
    app = make_app(**chat_settings(chat_server, slack={"webhook_url": f"{chat_server.url}{secret}"},
                                   teams={"webhook_url": f"{chat_server.url}/workflows/abc/invoke?api-version=1&sig=SIGSECRET"}))
    slack_id, teams_id = queue(app)
    chat_server.stop()
    try:
        run(app)
    finally:
        chat_server.start()
    for row_id in (slack_id, teams_id):
        assert row(app, row_id).error_kind == "unreachable"
        assert "SECRET" not in row(app, row_id).last_error
    assert "SECRET" not in caplog.text


def test_the_chat_job_is_scheduled_when_a_channel_is_on_and_sends_what_is_due(app, make_app, chat_server):
    from app.chat.jobs import chat_job
    from app.scheduler import job_specs

    assert "chat.outbox" in [spec.id for spec in job_specs(settings_of(app))]
    plain = make_app()
    assert "chat.outbox" not in [spec.id for spec in job_specs(settings_of(plain))]
    queue(app, "Due")
    with app.app_context():
        result = chat_job(get_session(), settings=settings_of(app))
        get_session().commit()
    assert result["sent"] == 2 and result["at_risk"] == 0
    assert [r.text.splitlines()[0] for r in chat_server.received(SLACK)] == ["Due"]


def test_a_huge_retry_after_waits_no_longer_than_the_longest_backoff(app, chat_server):
    first_slack, _first_teams = queue(app, "First")
    chat_server.fail(429, "rate_limited", retry_after="9999999999")
    before = utcnow()
    run(app)
    limited = row(app, first_slack)
    assert limited.error_kind == "rate_limited"
    longest = app.extensions["hindsight.settings"].chat.retry_max_seconds
    assert before + timedelta(seconds=longest - 1) <= limited.next_attempt_at <= utcnow() + timedelta(seconds=longest + 1)
