"""The insights page and its CSV: the API's figures in words and charts, private incidents kept private."""

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest

from app.metrics.pages import hours_in_words, period_from, share_in_words
from tests.web import Page, sign_in

UTC = timezone.utc
RESOLVED = datetime.now(UTC) - timedelta(days=10)
PASSWORD = "correct horse battery"


def _resolved(factory, auth, client, **fields):
    incident = factory.incident(auth, started_at=(RESOLVED - timedelta(hours=2)).isoformat(), **fields)
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "resolved", "resolved_at": RESOLVED.isoformat()}, headers=auth)
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    created = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items",
                          json={"title": "Add a write health check", "owner": incident["commander"], "due_date": "2020-01-01"},
                          headers=auth)
    assert created.status_code == 201, created.get_json()
    return incident


@pytest.fixture
def world(factory, auth, client):
    _resolved(factory, auth, client, visibility="private")
    _resolved(factory, auth, client)
    factory.user(email="outsider@example.com", name="Olly Outsider")
    return {"admin": "admin@example.com", "outsider": "outsider@example.com"}


def _numbers(html, chart_id):
    """The numbers of one chart's table: {row label: [values]}."""
    section = html.split(f'id="{chart_id}-numbers"', 1)[1].split("</table>", 1)[0]
    out = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", section):
        out[row[0]] = [int(v) for v in re.findall(r'data-value="(\d+)"', row[1])]
    return out


def test_signed_out_is_sent_to_sign_in(client, app):
    for path in ("/insights", "/insights.csv"):
        response = app.test_client().get(path)
        assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


@pytest.mark.parametrize("who,incidents", [("admin", 2), ("outsider", 1)])
def test_page_figures_equal_the_api_and_keep_private_incidents_private(app, client, world, who, incidents):
    web = sign_in(app, world[who], PASSWORD)
    response = web.get("/insights")
    assert response.status_code == 200
    page = Page.of(response)
    html = response.get_data(as_text=True)
    api = web.get("/api/v1/metrics?since={}&until={}".format(*re.search(
        r'since=([\d-]+)&amp;until=([\d-]+)', html).groups())).get_json()
    assert api["incidents"] == incidents
    assert page.find(id="incidents").text == str(incidents)
    assert page.find(id="created").text == str(api["action_items"]["created"]) == str(incidents)
    assert page.find(id="overdue").text == str(api["action_items"]["overdue"])
    retros = api["retrospectives"]
    assert page.find(id="median").text == hours_in_words(retros["median_hours_resolution_to_held"])
    assert page.find(id="p90").text == hours_in_words(retros["p90_hours_resolution_to_held"])
    assert page.find(id="share").text == share_in_words(retros["share_held_within_deadline"])
    ageing = _numbers(html, "ageing")
    assert [ageing[f"{b} days"][0] for b in ("0-7", "8-30", "31-90", "90+")] == list(api["action_items"]["open_age_days"].values())
    by_month = _numbers(html, "items-by-month")
    assert sum(values[0] for values in by_month.values()) == incidents
    by_severity = _numbers(html, "by-severity")
    assert sum(values[0] for values in by_severity.values()) == incidents
    for field in ("open_age_days", "held_within_deadline", "share_held", "by_severity", "retro_past_deadline"):
        assert field not in page.text


@pytest.mark.parametrize("who,incidents", [("admin", 2), ("outsider", 1)])
def test_csv_equals_the_api_for_the_same_period_and_viewer(app, world, who, incidents):
    web = sign_in(app, world[who], PASSWORD)
    since, until = (date.today() - timedelta(days=30)).isoformat(), date.today().isoformat()
    response = web.get(f"/insights.csv?since={since}&until={until}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"{since}-to-{until}" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    api = web.get(f"/api/v1/metrics?since={since}&until={until}").get_json()
    overall = {r["figure"]: r["value"] for r in rows if r["section"] == "overall"}
    assert overall["incidents"] == str(api["incidents"]) == str(incidents)
    assert overall["action_items.created"] == str(api["action_items"]["created"])
    assert {r["figure"]: r["value"] for r in rows if r["section"] == "period"}["since"] == since


def test_figures_in_words():
    assert hours_in_words(52.2) == "2 days 4 hours"
    assert hours_in_words(1) == "1 hour"
    assert hours_in_words(None) == "no retro held yet"
    assert (share_in_words(0.777), share_in_words(None)) == ("78%", "no retro due yet")


def test_presets_and_custom_periods_live_in_the_url():
    today = date(2026, 12, 6)
    assert period_from({"period": "30d"}, today)[1:] == (date(2026, 11, 7), today, None)
    assert period_from({"period": "quarter"}, today)[1:] == (date(2026, 7, 1), date(2026, 9, 30), None)
    assert period_from({"period": "year"}, today)[1:] == (date(2026, 1, 1), today, None)
    assert period_from({}, today)[1:] == (date(2026, 9, 8), today, None)
    assert period_from({"since": "2026-01-02", "until": "2026-02-03"}, today) == ("custom", date(2026, 1, 2), date(2026, 2, 3), None)


def test_preset_link_shows_its_period(app, world):
    web = sign_in(app, world["admin"], PASSWORD)
    page = Page.of(web.get("/insights?period=year"))
    assert page.find("a", **{"aria-current": "page"}).text == "This year"
    assert page.find("input", id="since").attrs["value"] == f"{date.today().year}-01-01"


@pytest.mark.parametrize("query", ["since=last-week&until=2026-12-01", "since=2026-12-10&until=2026-12-01", "since=2026-02-30&until=2026-03-01"])
def test_bad_dates_are_said_in_words(app, world, query):
    web = sign_in(app, world["admin"], PASSWORD)
    response = web.get(f"/insights?{query}")
    assert response.status_code == 422
    page = Page.of(response)
    problem = page.find(id="problem")
    assert problem.attrs["role"] == "alert" and "date" in problem.text.lower()
    assert "Traceback" not in page.text and "since" not in problem.text
    assert page.find("input", id="until").attrs["value"] == query.split("until=")[1]
    assert web.get(f"/insights.csv?{query}").status_code == 422
