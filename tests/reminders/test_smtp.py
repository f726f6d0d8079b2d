"""The SMTP adapter against a real SMTP server on loopback: parts, login, refusals, the server down."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import icalendar
import pytest

import integrations.off as off
import integrations.smtp as smtp
from integrations.calendar import Attendee, Meeting, build_ics
from integrations.smtp import CalendarPart, Email, Mailer, MailError, SmtpConfig
from tests.fakes.smtp import FakeSmtp


def config(server: FakeSmtp, **extra: object) -> SmtpConfig:
    return SmtpConfig(host=server.host, port=server.port, timeout=5, **extra)  # type: ignore[arg-type]


@pytest.fixture
def guarded() -> Iterator[FakeSmtp]:
    server = FakeSmtp(login=("mailer", "s3cret"))
    server.start()
    yield server
    server.stop()


def test_one_connection_sends_text_html_and_calendar_parts(smtp_server):
    start = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)
    ics = build_ics(Meeting(uid="retro-1@example.com", sequence=4, start=start, end=start + timedelta(hours=1),
                            summary="Retro", organizer_email="hindsight@example.com",
                            attendees=(Attendee("a@example.com", "Ann"),)),
                    method="REQUEST", stamp=start)
    with Mailer(config(smtp_server), "hindsight@example.com") as mailer:
        mailer.send(Email(to="a@example.com", subject="Héllo ünïcode", text="plain ✓", html="<p>html ✓</p>"))
        mailer.send(Email(to="b@example.com", subject="Invite", text="see invite",
                          calendar=CalendarPart(ics=ics, method="REQUEST")))
    first, second = smtp_server.messages()
    assert first.subject == "Héllo ünïcode" and first.rcpt_tos == ["a@example.com"]
    assert first.part("text/plain").strip() == "plain ✓" and first.part("text/html").strip() == "<p>html ✓</p>"
    calendar_part = next(p for p in second.message.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    event = icalendar.Calendar.from_ical(second.attachment("invite.ics")).walk("VEVENT")[0]
    assert int(event["sequence"]) == 4 and event.decoded("dtstart") == start


def test_login_when_configured(guarded):
    with Mailer(config(guarded, user="mailer", password="s3cret"), "h@example.com") as mailer:
        mailer.send(Email(to="a@example.com", subject="s", text="t"))
    assert guarded.logins == ["mailer"] and len(guarded.messages()) == 1
    with pytest.raises(MailError) as refused, Mailer(config(guarded, user="mailer", password="wrong"), "h@x") as m:
        m.send(Email(to="a@example.com", subject="s", text="t"))
    assert refused.value.code == 535 and refused.value.connection


@pytest.mark.parametrize("reply,at,code,temporary", [
    ("451 4.3.0 Try again later", "DATA", 451, True),
    ("554 5.6.0 Message rejected", "DATA", 554, False),
    ("550 5.1.1 No such user", "RCPT", 550, False),
    ("452 4.2.2 Mailbox full", "RCPT", 452, True),
])
def test_refusals_are_named_with_their_code(smtp_server, reply, at, code, temporary):
    smtp_server.refuse(reply, at=at)
    with Mailer(config(smtp_server), "h@example.com") as mailer:
        with pytest.raises(MailError) as raised:
            mailer.send(Email(to="a@example.com", subject="s", text="t"))
        assert raised.value.code == code and raised.value.temporary is temporary
        assert not raised.value.connection and str(code) in raised.value.message
        smtp_server.accept()
        mailer.send(Email(to="a@example.com", subject="s", text="t"))  # the connection is still usable
    assert len(smtp_server.messages()) == 1


def test_a_server_that_is_down_is_a_connection_failure(smtp_server):
    smtp_server.stop()
    with pytest.raises(MailError) as raised, Mailer(config(smtp_server), "h@example.com") as mailer:
        mailer.send(Email(to="a@example.com", subject="s", text="t"))
    assert raised.value.connection and raised.value.temporary and "cannot reach" in raised.value.message


def test_not_configured_means_off_logged_once(monkeypatch, caplog):
    monkeypatch.setattr(off, "_said", set())
    with caplog.at_level(logging.INFO, logger="integrations.smtp"):
        assert smtp.mailer(SmtpConfig(host=""), "h@example.com") is None
        assert smtp.mailer(SmtpConfig(host=""), "h@example.com") is None
    assert [r.message for r in caplog.records].count("SMTP is not configured (smtp.host is empty): mail is off") == 1


def test_calendar_times_must_carry_a_zone():
    naive = datetime(2026, 12, 2, 14, 0)
    with pytest.raises(ValueError):
        build_ics(Meeting(uid="u", sequence=0, start=naive, end=naive, summary="s", organizer_email="o@x"),
                  method="REQUEST", stamp=datetime.now(timezone.utc))


def test_send_all_spreads_over_connections_and_names_each_failure(smtp_server):
    emails = [(n, Email(to=f"p{n}@example.com", subject=f"n{n}", text="t")) for n in range(20)]
    assert smtp.send_all(config(smtp_server), "h@example.com", iter(emails), connections=3) == {}
    assert sorted(m.subject for m in smtp_server.messages()) == sorted(f"n{n}" for n in range(20))

    smtp_server.refuse("550 5.1.1 No such user", at="RCPT")
    failed = smtp.send_all(config(smtp_server), "h@example.com", iter(emails[:5]), connections=2)
    assert sorted(failed) == [0, 1, 2, 3, 4] and {e.code for e in failed.values()} == {550}

    smtp_server.stop()
    down = smtp.send_all(config(smtp_server), "h@example.com", iter(emails), connections=4)
    assert sorted(down) == list(range(20)) and all(e.connection for e in down.values())


def test_send_all_hands_a_crash_in_rendering_back_to_the_caller(smtp_server):
    def emails() -> Iterator[tuple[int, Email]]:
        yield 1, Email(to="a@example.com", subject="s", text="t")
        raise RuntimeError("template broke")

    with pytest.raises(RuntimeError, match="template broke"):
        smtp.send_all(config(smtp_server), "h@example.com", emails(), connections=2)
    assert len(smtp_server.messages()) == 1
