"""The facilitation page, through the Flask client (the scheduling form: test_schedule_pages.py)."""

from datetime import timedelta

from tests.retros.conftest import FRIDAY
from tests.web import Page, sign_in


def test_the_team_reads_the_meeting_page_in_meeting_order(app, client, admin, team):
    incident, retro = team
    added = client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=admin[1], json=[
        {"occurred_at": (FRIDAY - timedelta(minutes=30)).isoformat(), "kind": "action", "text": "Rolled back <i>v2</i>"},
        {"occurred_at": (FRIDAY - timedelta(minutes=90)).isoformat(), "kind": "detection", "text": "Alert fired"},
    ])
    assert added.status_code == 201, added.get_json()
    item = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", headers=admin[1],
                       json={"title": "Add a canary", "owner": "responder@example.com", "due_date": "2026-12-04"})
    assert item.status_code == 201, item.get_json()

    response = sign_in(app, "responder@example.com").get(f"/retrospectives/{retro['id']}/facilitate")

    assert response.status_code == 200
    html = Page.of(response)
    assert "Payments <script>alert(1)</script> outage" in html.text
    assert not any("alert" in script.text for script in html.find_all("script"))
    order = [html.where(id="ground-rules"), html.where("Blame <b>systems</b>, not people."),
             html.where(id="timeline-review"), html.where("Alert fired"), html.where("Rolled back <i>v2</i>"),
             html.where(id="document"), html.where(data_key="summary"), html.where(id="action-items"),
             html.where("Add a canary")]
    assert order == sorted(order)
    # Each stored section has an editor carrying its version and the API address it saves to.
    html.find(data_key="impact", data_version="1", data_url=f"/api/v1/retrospectives/{retro['id']}/sections/impact")
    assert "Fran Facilitator" in html.text and "Rita Responder" in html.text
    # Owners offered: the participants and the facilitator.
    assert html.find("option", value="responder@example.com").text == "Rita Responder"
    assert html.find("option", value="fran@example.com").text == "Fran Facilitator"
    assert html.find_all("option", value="outsider@example.com") == []
    html.find("script", src="/static/facilitate.js")
    # Times are shown in the organisation's zone: the alert at 14:00 UTC is 15:00 in Berlin.
    assert any(cell.endswith("15:00") for cell in html.texts("td"))


def test_signed_out_visitors_sign_in_first_and_outsiders_get_404(app, client, team):
    _incident, retro = team
    path = f"/retrospectives/{retro['id']}/facilitate"
    assert client.get(path).status_code == 302
    assert sign_in(app, "outsider@example.com").get(path).status_code == 404
    assert sign_in(app, "fran@example.com").get(path).status_code == 200
    assert sign_in(app, "fran@example.com").get("/retrospectives/999999/facilitate").status_code == 404


def test_the_incident_page_links_to_the_meeting(app, team):
    incident, retro = team
    html = Page.of(sign_in(app, "responder@example.com").get(f"/incidents/{incident['id']}"))
    html.find("a", href=f"/retrospectives/{retro['id']}/facilitate")


def test_api_timestamps_outside_the_supported_years_are_named(factory, auth, client):
    _incident, retro = factory.resolved_incident(auth)
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00Z"):
        response = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": when, "override_reason": "why not"}, headers=auth)
        assert response.status_code == 422 and "scheduled_for" in response.get_json()["error"]["fields"]
