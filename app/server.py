"""Serving with gunicorn, the production WSGI server."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from config import Settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from app import create_app

        return create_app(self.settings)


def run_gunicorn(settings: Settings, *, host: str, port: int, workers: int, with_scheduler: bool) -> None:
    """Serve until stopped. With the scheduler, it runs once, in gunicorn's master process."""
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": "-",
        # Paths without query strings: the Jira webhook's `secret` fallback must not reach the log.
        "access_log_format": '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"',
        "errorlog": "-",
        "timeout": 60,
        "forwarded_allow_ips": "127.0.0.1",
        # Above the app's own bound (app.core.handlers.MAX_HEADER_BYTES) so that the app answers too-large
        # headers with 431 in the JSON error shape; gunicorn still refuses past 128 fields or one of 128 KiB
        # (at most 16 MiB read before the app sees the request).
        "limit_request_field_size": 128 * 1024,
        "limit_request_fields": 128,
    }
    if with_scheduler:
        from app.scheduler import gunicorn_hooks

        options.update(gunicorn_hooks(settings))
    _Gunicorn(settings, options).run()
