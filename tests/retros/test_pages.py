"""The facilitation page and the scheduling form, through the Flask client with a signed-in cookie."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.db import get_session
from app.retros.models import Retrospective
from tests.web import csrf_token as _csrf
from tests.web import sign_in

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
    html = page.get_data(as_text=True)
    form = {
        "csrf_token": _csrf(html),
        "scheduled_for": re.search(r'id="scheduled_for" name="scheduled_for" value="([^"]*)"', html).group(1),
        "facilitator": re.search(r'id="facilitator" name="facilitator" value="([^"]*)"', html).group(1),
        "participants": re.search(r'id="participants" name="participants"[^>]*>([^<]*)</textarea>', html).group(1),
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
    html = response.get_data(as_text=True)
    assert "Payments &lt;script&gt;alert(1)&lt;/script&gt; outage" in html and "<script>alert" not in html
    order = [html.index(marker) for marker in (
        'id="ground-rules"', "Blame &lt;b&gt;systems&lt;/b&gt;, not people.", 'id="timeline-review"', "Alert fired",
        "Rolled back &lt;i&gt;v2&lt;/i&gt;", 'id="document"', 'data-key="summary"', 'id="action-items"', "Add a canary",
    )]
    assert order == sorted(order)
    # Each stored section has an editor carrying its version and the API address it saves to.
    assert re.search(rf'data-key="impact" data-version="1"\s+data-url="/api/v1/retrospectives/{retro["id"]}/sections/impact"', html)
    assert "Fran Facilitator" in html and "Rita Responder" in html
    # Owners offered: the participants and the facilitator.
    assert '<option value="responder@example.com">Rita Responder</option>' in html
    assert '<option value="fran@example.com">Fran Facilitator</option>' in html
    assert '<option value="outsider@example.com">' not in html
    assert "/static/facilitate.js" in html
    # Times are shown in the organisation's zone: the alert at 14:00 UTC is 15:00 in Berlin.
    assert "15:00</td>" in html


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
    assert "The form expired" in response.get_data(as_text=True)
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
    again = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "The retrospective is updated." in again and 'value="2026-11-25T16:30"' in again


def test_past_the_deadline_is_refused_then_booked_with_a_reason(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    refused = _schedule_form(web, retro["id"], scheduled_for="2026-11-25T16:31")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "The retro must happen by 2026-11-25T15:30:00+00:00" in html
    assert 'id="scheduled_for-error">is after the deadline' in html
    assert 'value="2026-11-25T16:31"' in html  # what was typed is kept
    assert 'name="override_reason"' in html
    assert _retro(app, retro["id"])["scheduled_for"] is None

    booked = _schedule_form(web, retro["id"], scheduled_for="2026-11-25T16:31",
                            override_reason="The database team is at a conference until Thursday.")
    assert booked.status_code == 302
    saved = _retro(app, retro["id"])
    assert saved["scheduled_for"] == datetime(2026, 11, 25, 15, 31, tzinfo=UTC)
    assert saved["overrides"] == [("retro_past_deadline", "The database team is at a conference until Thursday.")]
    shown = web.get(f"/retrospectives/{retro['id']}/schedule").get_data(as_text=True)
    assert "Rules set aside" in shown and "The database team is at a conference until Thursday." in shown


def test_a_spectator_is_refused_with_the_rule_message_and_nothing_else_is_saved(app, team):
    _incident, retro = team
    web = sign_in(app, "responder@example.com")
    refused = _schedule_form(web, retro["id"], scheduled_for="2026-11-24T10:00", facilitator="admin@example.com",
                             participants="responder@example.com\noutsider@example.com")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "outsider@example.com held no role in the incident. Give an override_reason to invite them anyway." in html
    assert 'id="participants-error">not on the response team: outsider@example.com' in html
    assert 'name="override_reason"' in html
    # The page shows what is saved, not the valid half of the refused form.
    assert '<div class="label">Facilitator now</div><span class="person" title="fran@example.com">' in html
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
    html = refused.get_data(as_text=True)
    assert "responder@example.com held a role in the incident; the facilitator must not have." in html
    assert 'id="facilitator-error">held a role in the incident' in html
    assert 'name="override_reason"' not in html  # this rule is never set aside
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
    error = re.search(rf'id="{field}-error">([^<]*)<', response.get_data(as_text=True))
    assert error and message in error.group(1)


def test_the_incident_page_links_to_the_meeting(app, team):
    incident, retro = team
    html = sign_in(app, "responder@example.com").get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert f'href="/retrospectives/{retro["id"]}/facilitate"' in html
    assert f'href="/retrospectives/{retro["id"]}/schedule"' in html


def test_schedule_form_keeps_what_others_changed_and_what_it_did_not_send(app, client, auth, factory):
    incident, retro = factory.resolved_incident(auth)
    factory.person(email="fran@example.com")
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": "fran@example.com"}, headers=auth)
    web = sign_in(app, "admin@example.com")
    page = web.get(f"/retrospectives/{retro['id']}/schedule").get_data(as_text=True)
    token = _csrf(page)
    assert 'name="loaded_participants"' in page
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
    assert 'id="scheduled_for-error"' in response.get_data(as_text=True)


def test_api_timestamps_outside_the_supported_years_are_named(factory, auth, client):
    _incident, retro = factory.resolved_incident(auth)
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00Z"):
        response = client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"scheduled_for": when, "override_reason": "why not"}, headers=auth)
        assert response.status_code == 422 and "scheduled_for" in response.get_json()["error"]["fields"]
