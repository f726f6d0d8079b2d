"""The facilitation page and the scheduling form, through the Flask client with a signed-in cookie."""

from datetime import UTC, datetime, timedelta

import pytest

from app.db import get_session
from app.retros.models import Retrospective
from tests.web import csrf_token as _csrf
from tests.web import Page, sign_in

# A Friday afternoon in the past: the deadline is Wednesday 2026-11-25 15:30 UTC, 16:30 in Berlin.
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


@pytest.fixture
def settings_overrides():
    return {"timezone": "Europe/Berlin", "retro": {"ground_rules": ["Blame <b>systems</b>, not people."]}}


@pytest.fixture
def team(app, factory, admin):
    """A private incident resolved on FRIDAY: responder commands it, fran facilitates, outsider is neither."""
    factory.user(email="responder@example.com", name="Rita Responder")
    factory.user(email="fran@example.com", name="Fran Facilitator")
    factory.user(email="outsider@example.com", name="Otto Outsider")
    incident, retro = factory.resolved_incident(
        admin[1], resolved_at=FRIDAY, visibility="private", commander="responder@example.com",
        title="Payments <script>alert(1)</script> outage",
    )
    web = app.test_client()
    assert web.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": "fran@example.com"},
                     headers=admin[1]).status_code == 200
    return incident, retro


def _retro(app, retro_id: int) -> dict:
    """What is saved now, as plain values."""
    with app.app_context():
        retro = get_session().get(Retrospective, retro_id)
        return {
            "scheduled_for": retro.scheduled_for, "status": retro.status,
            "facilitator": retro.facilitator.email if retro.facilitator else None,
            "participants": [p.person.email for p in retro.participants],
            "overrides": [(o.rule, o.reason) for o in retro.overrides],
        }


def _schedule_form(web, retro_id: int, **fields):
    page = web.get(f"/retrospectives/{retro_id}/schedule")
    assert page.status_code == 200
    html = Page.of(page)
    form = {
        "csrf_token": html.find("input", name="csrf_token").attrs["value"],
        "scheduled_for": html.find("input", id="scheduled_for", name="scheduled_for").attrs["value"],
        "facilitator": html.find("input", id="facilitator", name="facilitator").attrs["value"],
        "participants": html.find("textarea", id="participants", name="participants").raw_text,
    } | fields
    return web.post(f"/retrospectives/{retro_id}/schedule", data=form)


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
    for path in (f"/retrospectives/{retro['id']}/facilitate", f"/retrospectives/{retro['id']}/schedule"):
        assert client.get(path).status_code == 302
        outsider = sign_in(app, "outsider@example.com")
        assert outsider.get(path).status_code == 404
        assert sign_in(app, "fran@example.com").get(path).status_code == 200
    outsider = sign_in(app, "outsider@example.com")
    token = _csrf(outsider.get("/login").get_data(as_text=True))
    refused = outsider.post(f"/retrospectives/{retro['id']}/schedule",
                            data={"csrf_token": token, "scheduled_for": "2026-11-24T10:00"})
    assert refused.status_code == 404
    assert _retro(app, retro["id"])["scheduled_for"] is None
    assert sign_in(app, "fran@example.com").get("/retrospectives/999999/facilitate").status_code == 404


def test_the_schedule_form_needs_its_csrf_token(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    response = web.post(f"/retrospectives/{retro['id']}/schedule", data={"scheduled_for": "2026-11-24T10:00"})
    assert response.status_code == 400
    assert "The form expired" in Page.of(response).text
    assert _retro(app, retro["id"])["scheduled_for"] is None


def test_local_time_is_read_in_the_organisation_zone_up_to_the_deadline(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    # 16:30 in Berlin is 15:30 UTC: exactly the deadline, allowed.
    response = _schedule_form(web, retro["id"], scheduled_for="2026-11-25T16:30")
    assert response.status_code == 302
    saved = _retro(app, retro["id"])
    assert saved["scheduled_for"] == datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    assert saved["status"] == "scheduled" and saved["overrides"] == []
    again = Page.of(web.get(response.headers["Location"]))
    assert "The retrospective is updated." in again.text and again.find_all("input", value="2026-11-25T16:30")


def test_past_the_deadline_is_refused_then_booked_with_a_reason(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    refused = _schedule_form(web, retro["id"], scheduled_for="2026-11-25T16:31")
    assert refused.status_code == 422
    html = Page.of(refused)
    assert "The retro must happen by 2026-11-25T15:30:00+00:00" in html.text
    assert html.by_id("scheduled_for-error").text.startswith("is after the deadline")
    assert html.find_all("input", value="2026-11-25T16:31")  # what was typed is kept
    assert html.find_all(name="override_reason")
    assert _retro(app, retro["id"])["scheduled_for"] is None

    booked = _schedule_form(web, retro["id"], scheduled_for="2026-11-25T16:31",
                            override_reason="The database team is at a conference until Thursday.")
    assert booked.status_code == 302
    saved = _retro(app, retro["id"])
    assert saved["scheduled_for"] == datetime(2026, 11, 25, 15, 31, tzinfo=UTC)
    assert saved["overrides"] == [("retro_past_deadline", "The database team is at a conference until Thursday.")]
    shown = Page.of(web.get(f"/retrospectives/{retro['id']}/schedule")).text
    assert "Rules set aside" in shown and "The database team is at a conference until Thursday." in shown


def test_a_spectator_is_refused_with_the_rule_message_and_nothing_else_is_saved(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    refused = _schedule_form(web, retro["id"], scheduled_for="2026-11-24T10:00", facilitator="admin@example.com",
                             participants="responder@example.com\noutsider@example.com")
    assert refused.status_code == 422
    html = Page.of(refused)
    assert "outsider@example.com held no role in the incident. Give an override_reason to invite them anyway." in html.text
    assert html.by_id("participants-error").text.startswith("not on the response team: outsider@example.com")
    assert html.find_all(name="override_reason")
    # The page shows what is saved, not the valid half of the refused form.
    assert "Facilitator now" in html.texts("div", class_="label")
    assert any(e.attrs.get("title") == "fran@example.com" for e in html.find_all("span", class_="person"))
    # The facilitator and time in the same form were valid, but a refused form changes nothing.
    saved = _retro(app, retro["id"])
    assert saved["facilitator"] == "fran@example.com"
    assert saved["scheduled_for"] is None and saved["status"] == "pending"
    assert saved["participants"] == ["responder@example.com"]

    invited = _schedule_form(web, retro["id"], participants="responder@example.com\noutsider@example.com",
                             override_reason="Otto owns the payments service.")
    assert invited.status_code == 302
    saved = _retro(app, retro["id"])
    assert saved["participants"] == ["responder@example.com", "outsider@example.com"]
    assert saved["overrides"] == [("spectator_not_allowed", "Otto owns the payments service.")]
    # Saving the form again unchanged does not re-check the invited spectator.
    assert _schedule_form(web, retro["id"], scheduled_for="2026-11-24T10:00").status_code == 302


def test_an_involved_facilitator_is_refused_without_an_override(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    refused = _schedule_form(web, retro["id"], facilitator="responder@example.com")
    assert refused.status_code == 422
    html = Page.of(refused)
    assert "responder@example.com held a role in the incident; the facilitator must not have." in html.text
    assert html.by_id("facilitator-error").text.startswith("held a role in the incident")
    assert html.find_all(name="override_reason") == []  # this rule is never set aside
    assert _retro(app, retro["id"])["facilitator"] == "fran@example.com"


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"scheduled_for": "next tuesday"}, "scheduled_for", "is not a date and time"),
    ({"facilitator": "nobody@example.com"}, "facilitator", "no person has the email nobody@example.com"),
    ({"participants": "responder@example.com\nghost@example.com"}, "participants", "no person has the email ghost@example.com"),
    ({"facilitator": "not an email"}, "facilitator", "email"),
])
def test_bad_input_is_named_at_its_field(app, team, fields, field, message):
    _incident, retro = team
    response = _schedule_form(sign_in(app, "responder@example.com"), retro["id"], **fields)
    assert response.status_code == 422
    assert message in Page.of(response).by_id(f"{field}-error").text


def test_the_incident_page_links_to_the_meeting(app, team):
    incident, retro = team
    html = Page.of(sign_in(app, "responder@example.com").get(f"/incidents/{incident['id']}"))
    html.find("a", href=f"/retrospectives/{retro['id']}/facilitate")
    html.find("a", href=f"/retrospectives/{retro['id']}/schedule")


def test_schedule_form_keeps_what_others_changed_and_what_it_did_not_send(app, client, auth, factory):
    incident, retro = factory.resolved_incident(auth)
    factory.person(email="fran@example.com")
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": "fran@example.com"}, headers=auth)
    web = sign_in(app, "admin@example.com")
    page = Page.of(web.get(f"/retrospectives/{retro['id']}/schedule"))
    token = page.find("input", name="csrf_token").attrs["value"]
    assert page.find_all(name="loaded_participants")
    # Someone else invites a guest after the form was loaded.
    factory.person(email="guest@example.com")
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"participants": [incident["commander"], "guest@example.com"], "override_reason": "owns the fix"}, headers=auth)
    loaded = {"loaded_scheduled_for": "", "loaded_facilitator": "fran@example.com", "loaded_participants": incident["commander"]}
    when = retro["deadline_at"][:16]
    posted = web.post(f"/retrospectives/{retro['id']}/schedule", data={
        "csrf_token": token, "scheduled_for": when, "facilitator": "fran@example.com",
        "participants": incident["commander"], **loaded,
    })
    assert posted.status_code == 302
    after = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert after["scheduled_for"] is not None
    assert "guest@example.com" in after["participants"] and after["facilitator"] == "fran@example.com"
    # A post with only its token changes nothing.
    bare = web.post(f"/retrospectives/{retro['id']}/schedule", data={"csrf_token": token})
    assert bare.status_code == 302
    again = client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()
    assert again["facilitator"] == "fran@example.com" and again["participants"] == after["participants"]


@pytest.mark.parametrize("when", ["9999-12-31T23:59", "0001-01-01T00:30", "2026-03-29T02:30"])
def test_impossible_meeting_times_are_named(app, auth, factory, make_app, when):
    from tests.conftest import Factory

    berlin = make_app(timezone="Europe/Berlin")
    _incident, retro = Factory(berlin).resolved_incident(auth)
    web = sign_in(berlin, "admin@example.com")
    token = _csrf(web.get(f"/retrospectives/{retro['id']}/schedule").get_data(as_text=True))
    response = web.post(f"/retrospectives/{retro['id']}/schedule", data={"csrf_token": token, "scheduled_for": when})
    assert response.status_code == 422
    assert Page.of(response).find_all(id="scheduled_for-error")


def test_api_timestamps_outside_the_supported_years_are_named(factory, auth, client):
    _incident, retro = factory.resolved_incident(auth)
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00Z"):
        response = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": when, "override_reason": "why not"}, headers=auth)
        assert response.status_code == 422 and "scheduled_for" in response.get_json()["error"]["fields"]
