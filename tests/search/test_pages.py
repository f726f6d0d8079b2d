"""The search page and the box in every page's navigation: who finds what, in words, never a raw value."""

from __future__ import annotations

import re

import pytest

from app.core.dates import org_now
from app.core.templating import when_text
from tests.search.conftest import START
from tests.web import Page, sign_in


def results(page: Page) -> list[tuple[str, str]]:
    """(kind in words, title) of each result, in order."""
    found = []
    for item in page.find_all("li", **{"class": "card result"}):
        text = item.text
        kind = next(k for k in ("Incident", "Retro document section", "Action item", "Timeline event")
                    if text.startswith(k))
        found.append((kind, text[len(kind):].strip()))
    return found


def test_signed_out_is_sent_to_sign_in(app):
    response = app.test_client().get("/search?q=failover")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_page_has_the_search_box_in_its_navigation(app, admin):
    web = sign_in(app, "admin@example.com")
    for path in ("/", "/action-items", "/insights", "/search"):
        page = Page.of(web.get(path))
        form = page.find_all("form", role="search", action="/search")
        assert form and form[0].attrs["method"] == "get", path
        box = page.find_all("input", id="site-search")
        assert box and box[0].attrs["name"] == "q" and box[0].attrs["type"] == "search"
        assert page.find_all("label", **{"for": "site-search"}), path  # named for screen readers


def test_an_empty_search_says_what_to_type(app, admin):
    page = Page.of(sign_in(app, "admin@example.com").get("/search"))
    help_text = page.find_all("div", id="search-help")[0].text
    assert "quotes" in help_text and "minus" in help_text
    assert not page.find_all("ol", id="results")


def test_results_best_first_with_kind_link_marked_snippet_and_dates_in_words(corpus, app):
    web = sign_in(app, "admin@example.com")
    response = web.get("/search?q=failover")
    assert response.status_code == 200
    page = Page.of(response)
    shown = results(page)
    assert [kind for kind, _rest in shown] == ["Incident", "Retro document section", "Action item", "Timeline event",
                                               "Incident", "Timeline event", "Incident"]
    first = page.find_all("li", **{"class": "card result"})[0]
    failover = corpus.ids["failover"]
    assert "Database failover failed" in first.text and "SEV0" in first.text
    config = app.extensions["hindsight.settings"]
    started = when_text(START, zone=config.zone, current_year=org_now(config).year)
    assert f"resolved, started {started}" in first.text and re.fullmatch(r"\w{3} 10 Mar( 2026)?, \d\d:00", started)
    html = response.get_data(as_text=True)
    assert "<mark>failover</mark>" in html
    links = re.findall(r'<h2><a href="([^"]+)">', html)
    assert links[0] == f"/incidents/{failover}"
    assert links[1] == f"/retrospectives/{corpus.retros['failover']}/document"
    assert re.fullmatch(r"/action-items/\d+", links[2])
    assert links[3] == f"/incidents/{failover}#timeline"
    found = page.find_all("p", id="found")[0].text
    assert found == "Found 3 incidents, 1 retro document section, 1 action item and 2 timeline events."


@pytest.mark.parametrize("who,q,expected", [
    ("admin@example.com", "payroll", ["Payroll export failover", "Payroll export failover"]),
    ("rita@example.com", "payroll", ["Payroll export failover", "Payroll export failover"]),
    ("outsider@example.com", "payroll", []),
    ("outsider@example.com", "salaries", []),
])
def test_private_incidents_only_for_those_who_may_see_them(corpus, app, factory, who, q, expected):
    factory.user(email="outsider@example.com", name="Olly Outsider")
    page = Page.of(sign_in(app, who).get(f"/search?q={q}"))
    titles = [h2.text for h2 in page.find_all("h2")]
    assert titles == expected
    if not expected:
        assert "Nothing matched “" in page.find_all("div", id="no-results")[0].text


def test_the_counts_leave_out_what_the_viewer_may_not_see(corpus, app, factory):
    factory.user(email="outsider@example.com", name="Olly Outsider")
    page = Page.of(sign_in(app, "outsider@example.com").get("/search?q=failover"))
    assert page.find_all("p", id="found")[0].text == (
        "Found 2 incidents, 1 retro document section, 1 action item and 1 timeline event.")
    assert "Payroll" not in page.text and "Salaries" not in page.text


def test_filters_are_kept_in_the_form_and_a_no_result_offers_to_drop_them(corpus, app):
    web = sign_in(app, "admin@example.com")
    page = Page.of(web.get("/search?q=payroll&severity=SEV0&status=resolved&since=2026-03-01&until=2026-12-31"))
    assert "selected" in page.find_all("option", value="SEV0")[0].attrs
    assert "selected" in page.find_all("option", value="resolved")[0].attrs
    assert page.find_all("input", id="since")[0].attrs["value"] == "2026-03-01"
    no_results = page.find_all("div", id="no-results")[0]
    assert "with these filters" in no_results.text
    assert page.find_all("a", href="/search?q=payroll")  # search without the filters
    assert [h2.text for h2 in Page.of(web.get("/search?q=failover&severity=SEV0")).find_all("h2")] == [
        "Database failover failed", "Contributing factors", "Test the failover every month", "Database failover failed"]


@pytest.mark.parametrize("query,field,note", [
    ("q=x&since=yesterday", "since", "Give a real day, or leave this empty."),
    ("q=x&until=2026-02-30", "until", "Give a real day, or leave this empty."),
    ("q=x&severity=SEV9", "severity", "Pick a severity from the list."),
    ("q=x&status=done", "status", "Pick a status from the list."),
    ("q=x&since=2026-03-02&until=2026-03-01", "until", "The end of the period must not be before its start."),
    ("q=" + "x" * 501, "q", "Type at most 500 characters, on one line."),
])
def test_a_filter_that_cannot_be_read_is_said_beside_it(app, admin, query, field, note):
    response = sign_in(app, "admin@example.com").get(f"/search?{query}")
    assert response.status_code == 422
    page = Page.of(response)
    assert page.find_all("div", id=f"{field}-error")[0].text == note
    assert page.find_all(id=field)[0].attrs.get("aria-invalid") == "true"
    assert page.find_all("div", id="problem")[0].text
    assert not re.search(r"\b(since|until|severity|validation_error)\b", page.find_all("div", id="problem")[0].text)


def test_common_words_alone_say_so(app, admin):
    page = Page.of(sign_in(app, "admin@example.com").get("/search?q=the+and+*"))
    assert "too common" in page.find_all("div", id="nothing-to-search")[0].text


def test_incident_text_is_escaped_on_the_page(corpus, app):
    corpus.incident("html", title="<script>alert(1)</script> zebra", description="<b>zebra</b> & co")
    html = sign_in(app, "admin@example.com").get("/search?q=zebra").get_data(as_text=True)
    main = html[html.index('<main id="main">'):]
    assert "<script>alert(1)" not in main and "&lt;script&gt;alert(1)&lt;/script&gt; zebra" in main
    assert "<b>zebra" not in main


def test_the_page_filters_by_service_and_factor_by_name(corpus, app, client, auth):
    signed_in = sign_in(app, "admin@example.com")
    assert client.post("/api/v1/services", json={"name": "orders-db"}, headers=auth).status_code == 201
    assert client.patch(f"/api/v1/incidents/{corpus.ids['checkout']}", json={"services": ["orders-db"]},
                        headers=auth).status_code == 200
    assert client.post(f"/api/v1/retrospectives/{corpus.retros['failover']}/factors",
                       json={"factor": "monitoring.no_alert"}, headers=auth).status_code == 201
    by_service = Page.of(signed_in.get("/search?q=failover&service=orders-db"))
    assert "selected" in by_service.find("option", value="orders-db").attrs
    assert "Checkout errors after a deploy" in by_service.text and "Database failover failed" not in by_service.text
    by_factor = Page.of(signed_in.get("/search?q=failover&factor=monitoring.no_alert"))
    assert by_factor.find("option", value="monitoring.no_alert").text == "Monitoring gap: No alert fired"
    assert "Database failover failed" in by_factor.text and "Checkout errors after a deploy" not in by_factor.text
