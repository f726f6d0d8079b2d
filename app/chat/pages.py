"""The Integrations admin page: each outside system on or off, its last success and last error in words,
and a test message for the chat channels."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from app.auth.context import admins_only
from app.auth.pages import login_required
from app.chat import messages
from app.chat.delivery import chat_channels
from app.chat.models import ChatChannelName
from app.chat.service import release_held
from app.chat.status import integrations
from app.chat.wording import channel_name, failure_in_words
from app.core.errors import NotFound
from app.core.pages import page
from app.db import call_outside, get_session
from app.extensions import settings
from integrations.chat import ChatFailure

bp = Blueprint("integrations_pages", __name__)


def _admins_only() -> None:
    admins_only("Only admins can see the integrations.")


@bp.get("/admin/integrations")
@page
@login_required
def index():
    """Every integration's state, for admins."""
    _admins_only()
    return render_template("pages/integrations.html", rows=integrations(get_session(), settings=settings()))


@bp.post("/admin/integrations/<channel>/test")
@page
@login_required
def test_message(channel: str):
    """Send a test message to a chat channel now, with no transaction open; say how it went.

    When it went, the channel's waiting messages are due at once (an admin who fixed a setting
    tests it, and need not wait out the backoff)."""
    _admins_only()
    config = settings()
    target = chat_channels(config).get(channel)
    if target is None:
        if channel in set(ChatChannelName):
            flash(f"{channel_name(channel)} is off: set it up in the settings first.", "error")
            return redirect(url_for("integrations_pages.index"))
        raise NotFound("There is no such chat channel.")
    try:
        call_outside(get_session(), lambda: target.send(messages.test(config)))
    except ChatFailure as failure:
        flash(f"The test message was not sent. {failure_in_words(failure.kind, channel=channel, refused=failure.refused, retried=False)}",
              "error")
    else:
        # The channel takes messages again (a token or webhook was fixed): what waits for it goes at the next run.
        release_held(get_session(), channel=channel)
        flash(f"Test message sent to {channel_name(channel)}.")
    return redirect(url_for("integrations_pages.index"))
