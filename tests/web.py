"""Helpers for tests that use the web pages as a browser would: CSRF tokens, signing in, reading tags."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient

PASSWORD = "correct horse battery"  # what tests.conftest.Factory.user sets


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(app: Flask, email: str, password: str = PASSWORD) -> FlaskClient:
    """A client signed in through the real sign-in form."""
    web = app.test_client()
    token = csrf_token(web.get("/login").get_data(as_text=True))
    response = web.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302
    return web


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
