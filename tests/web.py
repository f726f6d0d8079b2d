"""Helpers for tests that use the web pages as a browser would: CSRF tokens, signing in, reading tags.

Page tests read pages with `Page` (elements, attributes, the text a reader sees, entities decoded),
never by looking for raw HTML in the response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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


VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    """One element of a page: its tag, attributes and the text inside it (entities decoded, spaces folded)."""

    tag: str
    attrs: dict[str, str | None]
    parts: list[str] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())

    @property
    def raw_text(self) -> str:
        """The text inside as written (a textarea's lines), entities decoded."""
        return "".join(self.parts)


class Page(HTMLParser):
    """A page as a browser reads it: `page.text` is what a reader sees (no markup, entities decoded);
    `page.find_all("option", value="x")` the elements with that tag and those attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self._text: list[str] = []
        self._text_at: list[tuple[float, str]] = []  # each text's place among the elements
        self.feed(html)
        self.close()

    @classmethod
    def of(cls, response) -> Page:  # type: ignore[no-untyped-def]
        """The page a test-client response carries (it must be HTML)."""
        assert response.mimetype == "text/html", response.mimetype
        return cls(response.get_data(as_text=True))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in VOID_ELEMENTS:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        if any(element.tag in ("script", "style") for element in self._open):
            for element in self._open:
                element.parts.append(data)
            return
        self._text.append(data)
        self._text_at.append((len(self.elements) - 0.5, " ".join(data.split())))
        for element in self._open:
            element.parts.append(data)

    @property
    def text(self) -> str:
        """The page's readable text, spaces folded (script and style bodies left out)."""
        return " ".join(" ".join(self._text).split())

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Elements with this tag (any if None) whose attributes include `attrs` (`class_` for class)."""
        wanted = {key.rstrip("_").replace("_", "-") if key != "class_" else "class": value for key, value in attrs.items()}
        return [e for e in self.elements if (tag is None or e.tag == tag)
                and all(e.attrs.get(key) == value for key, value in wanted.items())]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        """The first such element; the test fails if there is none."""
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'}> with {attrs} on the page"
        return found[0]

    def by_id(self, ident: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements with id={ident!r}"
        return found[0]

    def shows(self, words: str) -> bool:
        """Whether `words` are anywhere a reader or a script could find them: the text or an attribute."""
        return words in self.text or any(words in (value or "") for e in self.elements for value in e.attrs.values()) \
            or any(words in e.text for e in self.find_all("script"))

    def where(self, text: str | None = None, **attrs: str) -> float:
        """The place on the page (in reading order) of the first text holding `text`, or of the first
        element with `attrs`; for checking what comes before what."""
        if text is not None:
            found = [place for place, data in self._text_at if text in data]
            assert found, f"{text!r} is not on the page"
            return found[0]
        element = self.find(None, **attrs)
        return float(next(n for n, e in enumerate(self.elements) if e is element))

    def texts(self, tag: str, **attrs: str) -> list[str]:
        """The text of every such element."""
        return [e.text for e in self.find_all(tag, **attrs)]
