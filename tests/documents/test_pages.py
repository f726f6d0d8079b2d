"""The document page: sections as safe HTML in their editors, export links, publish state and the publish button."""

import pytest

from tests.fakes import on_preferred_port
from tests.fakes.confluence import FakeConfluence
from tests.web import csrf_token as _csrf
from tests.web import Page, sign_in


@pytest.mark.parametrize("settings_overrides", [{}])
def test_the_page_shows_the_document_safely_with_export_links(app, admin, factory, client):
    _incident, retro = factory.resolved_incident(admin[1], title="Login <script>alert(1)</script> loop")
    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=admin[1],
               json={"version": 1, "body": "<img src=x onerror=alert(2)> [x](javascript:alert(3)) **real**"})
    web = sign_in(app, "admin@example.com")
    response = web.get(f"/retrospectives/{retro['id']}/document")
    assert response.status_code == 200
    html = Page.of(response)
    # The only scripts are the app's own files; the document's HTML brought none.
    assert all((e.attrs.get("src") or "").startswith("/static/") for e in html.find_all("script"))
    assert all((e.attrs.get("src") or "").startswith("/static/") for e in html.find_all("img"))
    assert all(not k.startswith("on") for e in html.elements for k in e.attrs)
    # Each section is a collapsible editor whose preview is the exporter's safe HTML.
    assert "Impact" in html.texts("span", class_="title") and "real" in html.texts("strong")
    assert "<img src=x onerror=alert(2)>" in html.text
    exports = sorted(e.attrs["href"] for e in html.find_all("a") if "/export" in (e.attrs.get("href") or ""))
    assert exports == sorted(f"/api/v1/retrospectives/{retro['id']}/export?format={f}"
                             for f in ("markdown", "docx", "html", "confluence"))
    assert web.get(exports[0]).status_code == 200  # the links work with the signed-in cookie
    assert not html.shows("Publish to Confluence")  # publishing is off here


def test_signed_out_visitors_sign_in_first_and_outsiders_see_nothing(app, admin, factory, client):
    factory.user(email="responder@example.com", password="correct horse battery")
    factory.user(email="outsider@example.com", password="correct horse battery")
    _incident, retro = factory.resolved_incident(admin[1], visibility="private", commander="responder@example.com")
    assert client.get(f"/retrospectives/{retro['id']}/document").status_code == 302
    assert sign_in(app, "outsider@example.com").get(f"/retrospectives/{retro['id']}/document").status_code == 404
    assert sign_in(app, "responder@example.com").get(f"/retrospectives/{retro['id']}/document").status_code == 200


@pytest.fixture
def confluence():
    with on_preferred_port("confluence", lambda port: FakeConfluence(port=port)) as fake:
        yield fake


@pytest.fixture
def settings_overrides(confluence):
    return {"confluence": {"url": confluence.url, "user": confluence.user, "token": confluence.token,
                           "space": confluence.space}}


def test_publishing_from_the_page_shows_the_result_and_failures(app, admin, factory, confluence):
    _incident, retro = factory.resolved_incident(admin[1])
    web = sign_in(app, "admin@example.com")
    page = web.get(f"/retrospectives/{retro['id']}/document").get_data(as_text=True)
    assert "Publish to Confluence" in Page(page).text
    done = web.post(f"/retrospectives/{retro['id']}/document/publish", data={"csrf_token": _csrf(page)},
                    follow_redirects=True).get_data(as_text=True)
    assert "Published to Confluence, version 1." in Page(done).text and "Update the Confluence page" in Page(done).text

    confluence.fail_next(503, message="Maintenance window")
    failed = web.post(f"/retrospectives/{retro['id']}/document/publish", data={"csrf_token": _csrf(done)},
                      follow_redirects=True).get_data(as_text=True)
    assert "Maintenance window" in Page(failed).text and "The last publish" in Page(failed).text
    # A failure is not shown in the success style.
    assert any("Maintenance window" in text for text in Page(failed).texts("div", class_="flash error", role="alert"))
    assert any(text.startswith("Published to Confluence")
               for text in Page(done).texts("div", class_="flash", role="status"))
    assert len([p for p in confluence.pages.values()]) == 1
