"""Jinja filters shared by the pages and emails."""

from __future__ import annotations

from datetime import datetime

from flask import Flask


def init_app(app: Flask) -> None:
    zone = app.extensions["hindsight.settings"].zone

    @app.template_filter("localtime")
    def localtime(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
        """A timestamp shown in the organisation's time zone."""
        if value is None:
            return ""
        return value.astimezone(zone).strftime(fmt)
