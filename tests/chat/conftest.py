"""Fixtures of the chat tests: a loopback Slack and Teams receiver, Slack and Teams on, retros to announce."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.chat.models import ChatOutbox
from app.db import get_session
from tests.fakes.chat import FakeChat, chat_server  # noqa: F401  (fixture)

SLACK = "/slack/webhook"
TEAMS = "/teams/webhook"
POST_MESSAGE = "/api/chat.postMessage"
POOL = "fran@example.com"


@pytest.fixture
def settings_overrides(chat_server: FakeChat) -> dict[str, Any]:  # noqa: F811
    return chat_settings(chat_server)


def chat_settings(fake: FakeChat, **sections: Any) -> dict[str, Any]:
    """Slack by webhook and Teams on, pointed at the fake; `sections` replace or add whole sections."""
    return {
        "slack": fake.slack_webhook_settings(),
        "teams": fake.teams_settings(),
        "chat": {"retry_base_seconds": 30, "read_timeout_seconds": 2, "connect_timeout_seconds": 2},
        "retro": {"facilitator_pool": [POOL]},
        "timezone": "Europe/Berlin",
    } | sections


def outbox(app: Flask, **where: Any) -> list[ChatOutbox]:
    """The chat outbox rows, oldest first, read afresh."""
    with app.app_context():
        query = select(ChatOutbox).order_by(ChatOutbox.id)
        for name, value in where.items():
            query = query.where(getattr(ChatOutbox, name) == value)
        rows = get_session().scalars(query).all()
        get_session().expunge_all()
        return list(rows)


@pytest.fixture
def resolved(factory, auth) -> Callable[..., tuple[dict[str, Any], dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """A resolved incident and its booked retro (resolved a few minutes ago)."""

    def make(**overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return factory.resolved_incident(auth, **overrides)

    return make


@pytest.fixture
def make_item(app: Flask) -> Callable[..., int]:
    """An action item on `retro_id` owned by `owner`, due `due`; returns its id."""
    from app.actions.models import ActionItem
    from app.people.service import find_person

    def make(retro_id: int, owner: str, due: date, **fields: Any) -> int:
        with app.app_context():
            session = get_session()
            person = find_person(session, owner)
            assert person is not None, owner
            item = ActionItem(retrospective_id=retro_id, title=fields.pop("title", "Add a canary"), owner_id=person.id,
                              due_date=due, **fields)
            session.add(item)
            session.commit()
            return item.id

    return make


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def soon(minutes: int = 0, **kwargs: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes, **kwargs)
