"""The Hindsight Flask application."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from config import Settings, load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.instance_path).resolve() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class _IdConverter(IntegerConverter):
    """A 32-bit row id. The bound is in the regex, not in `max`: a value the converter refuses
    after the path matched makes Werkzeug answer 405 for a sibling rule's method instead of 404."""

    regex = (
        r"0*(?:[0-9]{1,9}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
        r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])"
    )


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app for `settings` (default: read from config/ and the environment)."""
    from app import models  # noqa: F401  (every table registered on Base.metadata)
    from app.auth import admin_pages, api as auth_api, context, pages as auth_pages, token_pages
    from app.core import handlers, security_headers, templating
    from app.db import Database
    from app.extensions import csrf
    from app.incidents import api as incidents_api, pages as incident_pages
    from app.intake import api as intake_api
    from app.meta import api as meta_api
    from app.metrics import api as metrics_api
    from app.people import api as people_api, pages as people_pages
    from app.services import api as services_api, pages as services_pages
    from app.retros import api as retros_api, pages as retro_pages, schedule_pages as retro_schedule_pages
    from app.actions import api as actions_api
    from app.documents import api as documents_api
    from app.reminders import api as reminders_api
    from app.documents import pages as document_pages
    from app.documents import template_pages
    from app.actions import pages as action_pages
    from app.chat import pages as integrations_pages
    from app.metrics import pages as metrics_pages
    from app.search import api as search_api, pages as search_pages

    settings = settings or load_settings()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "app" / "static"),
        instance_path=str(Path(settings.instance_path).resolve()),
    )
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["hindsight.settings"] = settings
    # Ids are 32-bit on PostgreSQL: a larger one in a URL is simply not found.
    app.url_map.converters["int"] = _IdConverter

    Database().init_app(app, settings.resolved_database_url())
    csrf.init_app(app)
    context.init_app(app)
    handlers.init_app(app)
    security_headers.init_app(app)
    templating.init_app(app)

    for module in (meta_api, auth_api, people_api, incidents_api, retros_api, actions_api,
                   documents_api, reminders_api, metrics_api, intake_api, search_api,
                   services_api):
        csrf.exempt(module.bp)
        app.register_blueprint(module.bp)
    for module in (auth_pages, incident_pages, document_pages, action_pages, retro_pages, retro_schedule_pages,
                   template_pages, integrations_pages, metrics_pages, search_pages, people_pages, admin_pages,
                   token_pages, services_pages):
        app.register_blueprint(module.bp)
    return app
