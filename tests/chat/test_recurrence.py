"""The booked-retro message says when the incident may have happened before, naming public incidents only."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.chat.conftest import SLACK
from tests.search.conftest import Corpus
from tests.search.test_related import build


def recent() -> datetime:
    """A start for the set whose last incident, `a`, was resolved an hour ago: its retro is booked in time."""
    return datetime.now(timezone.utc) - timedelta(days=50, hours=4)


def booked_text(chat_server, incident_id: int) -> str:  # type: ignore[no-untyped-def]
    [message] = [m for m in chat_server.received(SLACK) if m.text.startswith(f"Retro booked for #{incident_id} ")]
    return message.text


def test_the_booked_message_names_the_public_earlier_incident_with_open_follow_ups(
        app, factory, client, auth, admin, chat_server):  # type: ignore[no-untyped-def]
    # At resolution `a` has no factor yet: b and p share a service and named one, with follow-ups open;
    # p is private, so the channel, which anyone reads, hears of b only.
    made = build(Corpus(factory, client, auth), name_factors=False, start=recent())
    lines = booked_text(chat_server, made.ids["a"]).splitlines()
    assert f"This may have happened before: #{made.ids['b']}, 2 follow-ups still open." in lines
    assert f"#{made.ids['p']}" not in booked_text(chat_server, made.ids["a"])
    # orders-db was touched by d and a only, whose retros named no factor and have no follow-ups: nothing said.
    made.incident("f", title="Orders slow", services=["orders-db"], started=datetime.now(timezone.utc) - timedelta(hours=4))
    assert "happened before" not in booked_text(chat_server, made.ids["f"])


def test_a_private_incidents_booked_message_says_nothing_more(
        app, factory, client, auth, admin, chat_server):  # type: ignore[no-untyped-def]
    made = Corpus(factory, client, auth)
    build(made, name_factors=False, start=recent())
    private = made.incident("q", title="Checkout slow again", visibility="private", services=["checkout-api"],
                            commander="rita@example.com", started=datetime.now(timezone.utc) - timedelta(hours=4))
    [message] = [m for m in chat_server.received(SLACK) if "private incident" in m.text]
    assert message.text.splitlines()[0] == "A private incident's retro was booked."
    assert "happened before" not in message.text and private["title"] not in message.text
