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


def sign_in_form(web: FlaskClient, email: str, password: str = PASSWORD, **kwargs):  # type: ignore[no-untyped-def]
    """Post the sign-in form once (CSRF token included); the response, whatever it is."""
    token = csrf_token(web.get("/login").get_data(as_text=True))
    return web.post("/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs)


def page_csrf_token(web: FlaskClient, path: str = "/") -> str:
    """The CSRF token a signed-in page carries for its forms and API calls."""
    html = web.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match is not None, f"{path} has no csrf-token meta tag"
    return match.group(1)
