"""A clock the auth code reads its time from, so timeouts and lock-outs are tested without waiting."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.auth.context import set_clock


class Clock:
    """A settable time: `clock.advance(minutes=5)`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(app):
    tick = Clock(datetime.now(timezone.utc).replace(microsecond=0))
    set_clock(app, tick)
    return tick
