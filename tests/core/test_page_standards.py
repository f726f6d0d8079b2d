"""What every page must meet: styles and scripts as static files (so the CSP can forbid inline ones),
people by name, statuses and dates in words in the organisation's time zone, a favicon."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string

from app.actions.models import ActionStatus, SyncStatus
from app.core.dates import org_now
from app.core.templating import status_label, when_text
from app.incidents.models import IncidentStatus
from app.retros.models import RetroStatus
from tests.demo import load_demo_ids
from tests.web import Page, Tags, sign_in

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "templates" / "pages").glob("*.html"))
SCRIPTS = sorted((ROOT / "app" / "static").glob("*.js"))
BERLIN = ZoneInfo("Europe/Berlin")


# -- no inline styles or scripts --------------------------------------------------------------

def test_there_are_page_templates_to_check():
    assert len(PAGES) >= 10 and any(p.name == "base.html" for p in PAGES)


@pytest.mark.parametrize("template", PAGES, ids=lambda p: p.name)
def test_no_template_carries_an_inline_style_or_script(template):
    text = template.read_text()
    assert "style=" not in text.lower()
    assert "<style" not in text.lower()
    parser = Tags()
    parser.feed(text)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert all(attrs.get("src") for attrs in scripts), "an inline <script> (without src)"
    handlers = [(tag, name) for tag, attrs in parser.tags for name in attrs if name.lower().startswith("on")]
    assert handlers == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_no_script_sets_a_style_attribute(script):
    """A style attribute set from a script is blocked by the policy just like one in a template."""
    text = script.read_text()
    assert not re.search(r"""setAttribute\(\s*["']style["']|["']?style["']?\s*:\s*["']""", text)


def test_the_policy_forbids_inline_styles_and_scripts(client):
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["style-src"] == ["'self'"] and directives["script-src"] == ["'self'"]


def test_every_page_links_the_stylesheet_and_the_favicon(client):
    parser = Tags()
    parser.feed(client.get("/login").get_data(as_text=True))
    links = {(attrs.get("rel"), attrs.get("href")) for tag, attrs in parser.tags if tag == "link"}
    assert ("stylesheet", "/static/app.css") in links and ("icon", "/static/favicon.svg") in links
    assert client.get("/static/app.css").status_code == 200


def test_the_favicon_is_answered_at_the_address_browsers_ask(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).lstrip().startswith("<svg")
    assert client.get("/static/favicon.svg").status_code == 200


# -- dates, statuses and people in words -------------------------------------------------------

@pytest.mark.parametrize("value,current_year,part,expected", [
    (datetime(2026, 12, 4, 14, 52, tzinfo=UTC), 2026, "full", "Fri 4 Dec, 15:52"),
    (datetime(2026, 12, 4, 14, 52, tzinfo=UTC), 2027, "full", "Fri 4 Dec 2026, 15:52"),
    (datetime(2026, 12, 4, 14, 52, tzinfo=UTC), 2026, "day", "Fri 4 Dec"),
    (datetime(2026, 12, 4, 14, 52, tzinfo=UTC), 2026, "time", "15:52"),
    (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), 2026, "full", "Fri 1 Jan 2027, 00:30"),  # the next day there
    (datetime(2026, 7, 4, 8, 5), 2026, "full", "Sat 4 Jul, 10:05"),  # naive: read as UTC; summer time
    (date(2026, 12, 4), 2026, "full", "Fri 4 Dec"),
    (date(2025, 12, 4), 2026, "full", "Thu 4 Dec 2025"),
    ("2026-12-04", 2026, "full", "Fri 4 Dec"),  # as an action item's history keeps dates
    ("not a date", 2026, "full", "not a date"),
    (None, 2026, "full", ""),
])
def test_when_says_a_moment_in_the_organisations_zone(value, current_year, part, expected):
    assert when_text(value, zone=BERLIN, current_year=current_year, part=part) == expected


@pytest.mark.parametrize("settings_overrides", [{"timezone": "Australia/Brisbane"}])
def test_the_when_filter_uses_the_organisations_zone_and_year(app):
    config = app.extensions["hindsight.settings"]
    this_year = org_now(config).year
    moment = datetime(this_year, 3, 2, 23, 30, tzinfo=UTC)  # 09:30 the next morning in Brisbane (UTC+10)
    last_year = datetime(this_year - 1, 3, 2, 23, 30, tzinfo=UTC)
    with app.test_request_context():
        shown = render_template_string("{{ a | when }}|{{ b | when }}|{{ a | when('time') }}", a=moment, b=last_year)
    expected_day = (moment + timedelta(hours=10)).strftime("%a")
    assert shown == f"{expected_day} 3 Mar, 09:30|{(last_year + timedelta(hours=10)).strftime('%a')} 3 Mar {this_year - 1}, 09:30|09:30"


@pytest.mark.parametrize("word", sorted({s.value for kind in (ActionStatus, RetroStatus, IncidentStatus, SyncStatus) for s in kind}))
def test_every_status_has_words(word):
    label = status_label(word)
    assert "_" not in label and label[0].isupper()


@pytest.mark.parametrize("word,label", [
    ("wont_do", "Won't do"), ("in_progress", "In progress"), ("pending", "Pending"), ("investigating", "Investigating"),
    ("some_new_state", "Some new state"), (None, ""),
])
def test_status_labels(word, label):
    assert status_label(word) == label


def test_a_person_is_shown_by_name_with_the_email_in_a_tooltip(app, factory):
    person = factory.person(email="eve@example.com", name='Eve "<b>" Example')
    with app.test_request_context():
        shown = render_template_string("{{ p | person }}|{{ nobody | person('none yet') }}", p=person, nobody=None)
    assert shown == ('<span class="person" title="eve@example.com">Eve &#34;&lt;b&gt;&#34; Example</span>|none yet')


def test_item_numbers_become_links_and_the_rest_is_escaped(app):
    with app.test_request_context():
        shown = render_template_string("{{ note | item_links }}", note="split from #8 <i>")
    assert shown == 'split from <a href="/action-items/8">#8</a> &lt;i&gt;'


# -- the pages use them -----------------------------------------------------------------------

@pytest.fixture
def demo(app, admin):
    ids = load_demo_ids(app)
    return ids["incident"], ids["retro"]


def test_the_incident_timeline_gives_each_day_once_then_times(app, demo):
    incident_id, _retro_id = demo
    html = sign_in(app, "admin@example.com").get(f"/incidents/{incident_id}").get_data(as_text=True)
    timeline = html[html.index('id="timeline"'):]
    days = re.findall(r'<tr class="day"><th colspan="3" scope="rowgroup">([^<]+)</th>', timeline)
    times = re.findall(r'<td class="when">([^<]+)<', timeline)
    assert len(times) >= 40 and all(re.fullmatch(r"\d\d:\d\d", t) for t in times)
    assert len(days) == len(set(days)) >= 1 and all(re.fullmatch(r"\w{3} \d{1,2} \w{3}( \d{4})?", d) for d in days)


def test_pages_show_people_by_name_and_statuses_in_words(app, demo):
    incident_id, retro_id = demo
    web = sign_in(app, "admin@example.com")
    for path in (f"/incidents/{incident_id}", f"/retrospectives/{retro_id}/facilitate",
                 f"/retrospectives/{retro_id}/schedule", "/action-items", "/", "/search?q=failover"):
        html = web.get(path).get_data(as_text=True)
        # What the page says (not attributes, not the document's own text in its editors).
        html = re.sub(r"<textarea[^>]*>.*?</textarea>", "", html, flags=re.S)
        html = re.sub(r"<div [^>]*data-document-text[^>]*>.*?<!--/document-text-->", "", html, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", html)
        assert not re.search(r"\b(in_progress|wont_do)\b", text), path
        assert not re.search(r"\d{4}-\d\d-\d\d", text), path  # no ISO dates in what people read
        assert not re.search(r"\d{4}, \d\d:\d\d [A-Z]{3,5}\b", text), path  # not the old "…2026, 15:02 UTC"
    schedule = web.get(f"/retrospectives/{retro_id}/schedule").get_data(as_text=True)
    assert '<div class="label">Facilitator now</div><span class="person" title="facilitator@example.com">Jordan Lee</span>' \
        in schedule
    incident = web.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert '<span class="person" title="maya.chen@example.com">Maya Chen</span>' in incident
    assert "maya.chen@example.com</span>" not in incident  # the email is a tooltip, not text


def test_an_item_split_from_another_links_to_it_and_its_history_names_people(app, admin, factory, client, auth):
    factory.user(email="rita@example.com", name="Rita Responder")
    _incident, retro = factory.resolved_incident(auth, commander="rita@example.com")
    due = (date.today() + timedelta(days=10)).isoformat()
    parent = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", headers=auth,
                         json={"title": "Rebuild the indexer", "owner": "admin@example.com", "due_date": due}).get_json()
    client.patch(f"/api/v1/action-items/{parent['id']}", headers=auth,
                 json={"owner": "rita@example.com", "status": "wont_do"})
    split = client.post(f"/api/v1/action-items/{parent['id']}/split", headers=auth,
                        json={"items": [{"title": "Part one", "owner": "rita@example.com", "due_date": due}]})
    assert split.status_code in (200, 201), split.get_json()
    child = split.get_json()["items"][0]
    web = sign_in(app, "admin@example.com")
    page = web.get(f"/action-items/{child['id']}").get_data(as_text=True)
    link = f'<a href="/action-items/{parent["id"]}">#{parent["id"]}</a>'
    assert f"split from {link}" in page
    history = web.get(f"/action-items/{parent['id']}").get_data(as_text=True)
    assert '<span class="person" title="rita@example.com">Rita Responder</span>' in history  # the owner change
    # Read, not the form's option values: the item page's edit form carries "wont_do" as a value.
    assert "Won&#39;t do" in history and "wont_do" not in Page(history).text
    assert f'<a href="/action-items/{child["id"]}">#{child["id"]}</a>' in history  # "split into"


def test_no_page_shows_api_words_raw_times_or_exceptions(app, demo):
    """What people read on every page of the demo: no field or code names (`override_reason`,
    `wont_do`), no ISO timestamps, no Python exception names. Documents' own text, source
    listings and code samples are left out: they are what people wrote."""
    incident_id, retro_id = demo
    web = sign_in(app, "admin@example.com")
    api_words = _api_words(web.get("/api/v1/openapi.json").get_json())
    assert {"override_reason", "wont_do", "scheduled_for", "retro_past_deadline"} <= api_words
    paths = ["/", "/incidents/new", f"/incidents/{incident_id}", f"/retrospectives/{retro_id}/schedule",
             f"/retrospectives/{retro_id}/facilitate", f"/retrospectives/{retro_id}/document", "/action-items",
             "/templates", "/templates/standard", "/templates/new", "/search?q=failover", "/search", "/admin/people",
             "/admin", "/admin/users", "/admin/tokens", "/admin/audit", "/account/tokens"]
    items = re.findall(r'href="/action-items/(\d+)"', web.get("/action-items").get_data(as_text=True))
    paths += [f"/action-items/{number}" for number in sorted(set(items))[:3]]
    for path in paths:
        response = web.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        for tag in ("textarea", "pre", "code", "script", "template"):
            html = re.sub(rf"<{tag}[^>]*>.*?</{tag}>", " ", html, flags=re.S)
        html = re.sub(r"<div [^>]*data-document-text[^>]*>.*?<!--/document-text-->", " ", html, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", html)
        shown = set(re.findall(r"\b[a-z]+_[a-z_]+\b", text)) & api_words
        assert not shown, (path, sorted(shown))
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), path
        assert not re.search(r"Traceback|Error\(|Exception\b|HTTPConnectionPool", text), path


def _api_words(spec) -> set[str]:  # type: ignore[no-untyped-def]
    """Every field name, enum value and error code with an underscore that the API names."""
    words: set[str] = set()

    def walk(node) -> None:  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    words.update(name for name in value if "_" in name)
                if key == "enum" and isinstance(value, list):
                    words.update(v for v in value if isinstance(v, str) and "_" in v)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    source = "\n".join(path.read_text() for path in (ROOT / "app").rglob("*.py"))
    words.update(re.findall(r"""code=["']([a-z]+_[a-z_]+)["']""", source))
    return words
