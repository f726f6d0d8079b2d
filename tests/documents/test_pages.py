"""The read-only document page: safe HTML, export links, publish state and the publish button."""

from html.parser import HTMLParser

import pytest

from tests.fakes.confluence import FakeConfluence
from tests.web import csrf_token as _csrf
from tests.web import sign_in


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("settings_overrides", [{}])
def test_the_page_shows_the_document_safely_with_export_links(app, admin, factory, client):
    _incident, retro = factory.resolved_incident(admin[1], title="Login <script>alert(1)</script> loop")
    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=admin[1],
               json={"version": 1, "body": "<img src=x onerror=alert(2)> [x](javascript:alert(3)) **real**"})
    web = sign_in(app, "admin@example.com")
    response = web.get(f"/retrospectives/{retro['id']}/document")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    parser = _Tags()
    parser.feed(html)
    # The only scripts are the app's own files; the document's HTML brought none.
    assert all(a.get("src", "").startswith("/static/") for t, a in parser.tags if t == "script")
    assert "img" not in {t for t, a in parser.tags if not a.get("src", "").startswith("/static/")}
    assert all(not k.startswith("on") for _, attrs in parser.tags for k in attrs)
    assert "<h2>Impact</h2>" in html and "<strong>real</strong>" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    exports = sorted(a["href"] for t, a in parser.tags if t == "a" and "/export" in a.get("href", ""))
    assert exports == sorted(f"/api/v1/retrospectives/{retro['id']}/export?format={f}"
                             for f in ("markdown", "docx", "html", "confluence"))
    assert web.get(exports[0]).status_code == 200  # the links work with the signed-in cookie
    assert "Publish to Confluence" not in html  # publishing is off here


def test_signed_out_visitors_sign_in_first_and_outsiders_see_nothing(app, admin, factory, client):
    factory.user(email="responder@example.com", password="correct horse battery")
    factory.user(email="outsider@example.com", password="correct horse battery")
    _incident, retro = factory.resolved_incident(admin[1], visibility="private", commander="responder@example.com")
    assert client.get(f"/retrospectives/{retro['id']}/document").status_code == 302
    assert sign_in(app, "outsider@example.com").get(f"/retrospectives/{retro['id']}/document").status_code == 404
    assert sign_in(app, "responder@example.com").get(f"/retrospectives/{retro['id']}/document").status_code == 200


@pytest.fixture
def confluence():
    with FakeConfluence() as fake:
        yield fake


@pytest.fixture
def settings_overrides(confluence):
    return {"confluence": {"url": confluence.url, "user": confluence.user, "token": confluence.token,
                           "space": confluence.space}}


def test_publishing_from_the_page_shows_the_result_and_failures(app, admin, factory, confluence):
    _incident, retro = factory.resolved_incident(admin[1])
    web = sign_in(app, "admin@example.com")
    page = web.get(f"/retrospectives/{retro['id']}/document").get_data(as_text=True)
    assert "Publish to Confluence" in page
    done = web.post(f"/retrospectives/{retro['id']}/document/publish", data={"csrf_token": _csrf(page)},
                    follow_redirects=True).get_data(as_text=True)
    assert "Published to Confluence, version 1." in done and "Update the Confluence page" in done

    confluence.fail_next(503, message="Maintenance window")
    failed = web.post(f"/retrospectives/{retro['id']}/document/publish", data={"csrf_token": _csrf(done)},
                      follow_redirects=True).get_data(as_text=True)
    assert "Maintenance window" in failed and "The last publish" in failed
    # A failure is not shown in the success style.
    assert '<div class="flash error" role="alert">' in failed
    assert '<div class="flash" role="status">Published to Confluence' in done
    assert len([p for p in confluence.pages.values()]) == 1
