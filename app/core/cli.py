"""What every `hindsight` command needs: the settings, and an app built from them.

Commands do their work in `app.db.job_session(app)`, committed once at its end.
"""

from __future__ import annotations

import click
from flask import Flask

from config import Settings, SettingsError, load_settings


def cli_settings() -> Settings:
    """The settings from config/ and the environment; a bad setting ends the command with its message."""
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def cli_app(settings: Settings | None = None) -> Flask:
    """The app for `settings` (default: `cli_settings()`)."""
    from app import create_app  # the app package builds everything; importing it is kept to commands that run

    return create_app(settings or cli_settings())
