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


# -- the sections' editors ---------------------------------------------------------------------

def test_each_section_is_a_collapsible_editor_with_its_prompt_as_placeholder(app, admin, factory):
    _incident, retro = factory.resolved_incident(admin[1])
    html = Page.of(sign_in(app, "admin@example.com").get(f"/retrospectives/{retro['id']}/document"))
    editors = html.find_all("details", class_="card editor")
    assert len(editors) == 11 and all("open" in e.attrs for e in editors)
    assert html.find_all("button", **{"data-collapse": "all"}) and html.find_all("button", **{"data-expand": "all"})
    impact = html.find("textarea", **{"aria-label": "Impact"})
    assert impact.attrs["placeholder"].startswith("Who and what was affected") and impact.raw_text == ""
    # A generated section opens in Preview (a table, not pipes); an empty one in Write.
    assert "hidden" in html.by_id("section-summary-write").attrs
    assert "hidden" not in html.by_id("section-summary-preview").attrs
    assert html.by_id("section-summary-preview-tab").attrs["aria-selected"] == "true"
    assert "hidden" not in html.by_id("section-impact-write").attrs
    assert html.by_id("section-impact-write-tab").attrs["aria-selected"] == "true"
    assert "Severity" in html.texts("td")  # the summary's facts table, rendered
    scripts = [e.attrs.get("src") for e in html.find_all("script")]
    assert "/static/editor.js" in scripts
    assert any(e.attrs.get("href") == "/static/editor.css" for e in html.find_all("link"))
    # The live timeline shows its table above the notes, and says where it comes from.
    assert html.where(id="section-timeline") < html.where("Made from current data at every export; notes below.")


# -- choosing the template from the page --------------------------------------------------------

def _choose(web, retro_id: int, template: str, page_html: str):
    return web.post(f"/retrospectives/{retro_id}/document/template",
                    data={"csrf_token": _csrf(page_html), "template": template})


def test_the_template_can_be_chosen_from_the_page_until_someone_edits(app, admin, factory):
    _incident, retro = factory.resolved_incident(admin[1])
    web = sign_in(app, "admin@example.com")
    before = web.get(f"/retrospectives/{retro['id']}/document").get_data(as_text=True)
    assert Page(before).find("select", name="template")
    done = _choose(web, retro["id"], "security", before)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/retrospectives/{retro['id']}/document")
    after = Page.of(web.get(done.headers["Location"]))
    assert any("Security incident retrospective" in t for t in after.texts("div", class_="flash", role="status"))
    assert "Data exposure" in after.texts("span", class_="title")


def test_a_template_change_after_edits_is_refused_in_words(app, admin, factory, client):
    _incident, retro = factory.resolved_incident(admin[1])
    web = sign_in(app, "admin@example.com")
    page_html = web.get(f"/retrospectives/{retro['id']}/document").get_data(as_text=True)
    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=admin[1],
               json={"body": "Checkout down 40 min.", "version": 1})
    refused = _choose(web, retro["id"], "security", page_html)
    assert refused.status_code == 422
    html = Page.of(refused)
    message = html.find("div", class_="error", role="alert").text
    assert "already been edited" in message and "document_edited" not in html.text
    assert "selected" in html.find("option", value="security").attrs  # the choice is kept
    assert "Data exposure" not in html.texts("span", class_="title")
    assert "Checkout down 40 min." in html.text  # nothing written was lost
    # Once edited, the page offers no form that would fail.
    again = Page.of(web.get(f"/retrospectives/{retro['id']}/document"))
    assert not again.find_all("select", name="template") and again.shows("the document has been edited")


def test_an_unknown_template_is_named_beside_the_field(app, admin, factory):
    _incident, retro = factory.resolved_incident(admin[1])
    web = sign_in(app, "admin@example.com")
    page_html = web.get(f"/retrospectives/{retro['id']}/document").get_data(as_text=True)
    refused = _choose(web, retro["id"], "no-such-template", page_html)
    assert refused.status_code == 422
    html = Page.of(refused)
    assert html.find("div", class_="field-error", id="template-error").text == "unknown template"
    assert "validation_error" not in html.text


def test_choosing_a_template_is_404_to_outsiders_and_needs_a_sign_in(app, admin, factory, client):
    factory.user(email="responder@example.com")
    factory.user(email="outsider@example.com")
    _incident, retro = factory.resolved_incident(admin[1], visibility="private", commander="responder@example.com")
    url = f"/retrospectives/{retro['id']}/document/template"
    assert client.post(url, data={"template": "security"}).status_code in (302, 400)
    outsider = sign_in(app, "outsider@example.com")
    token = _csrf(outsider.get("/").get_data(as_text=True))
    assert outsider.post(url, data={"csrf_token": token, "template": "security"}).status_code == 404
    responder = sign_in(app, "responder@example.com")
    page_html = responder.get(f"/retrospectives/{retro['id']}/document").get_data(as_text=True)
    assert _choose(responder, retro["id"], "lightweight", page_html).status_code == 302
