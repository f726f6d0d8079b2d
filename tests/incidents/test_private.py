"""Private incidents are visible only to their responders, the facilitator, participants and admins."""

import pytest

from tests.web import Page, sign_in


@pytest.fixture
def private_case(factory, auth, client):
    """A resolved private incident whose team is the commander only, plus three users."""
    commander_user, commander_headers = factory.user(email="ic@example.com")
    outsider_user, outsider_headers = factory.user(email="outsider@example.com")
    facilitator_user, facilitator_headers = factory.user(email="fac@example.com")
    incident, retro = factory.resolved_incident(auth, commander="ic@example.com", visibility="private", title="Leaked keys")
    client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": "fac@example.com"}, headers=auth)
    return {
        "incident": incident, "retro": retro,
        "commander": commander_headers, "outsider": outsider_headers, "facilitator": facilitator_headers,
    }


def _urls(case):
    iid, rid = case["incident"]["id"], case["retro"]["id"]
    return [
        f"/api/v1/incidents/{iid}", f"/api/v1/incidents/{iid}/timeline",
        f"/api/v1/incidents/{iid}/retrospective", f"/api/v1/retrospectives/{rid}",
    ]


def test_outsiders_get_404_everywhere_and_see_nothing_in_lists(private_case, client):
    outsider = private_case["outsider"]
    for url in _urls(private_case):
        response = client.get(url, headers=outsider)
        assert response.status_code == 404, url
        assert "Leaked" not in response.get_data(as_text=True)
    assert client.get("/api/v1/incidents", headers=outsider).get_json()["items"] == []
    iid = private_case["incident"]["id"]
    assert client.patch(f"/api/v1/incidents/{iid}", json={"title": "hijack"}, headers=outsider).status_code == 404
    assert client.post(f"/api/v1/incidents/{iid}/timeline", json={"occurred_at": "2026-11-20T08:00:00Z", "text": "x"}, headers=outsider).status_code == 404
    assert client.patch(f"/api/v1/retrospectives/{private_case['retro']['id']}", json={"status": "completed"}, headers=outsider).status_code == 404


@pytest.mark.parametrize("who", ["commander", "facilitator"])
def test_team_and_facilitator_see_it(private_case, client, who):
    headers = private_case[who]
    for url in _urls(private_case):
        assert client.get(url, headers=headers).status_code == 200, url
    titles = [i["title"] for i in client.get("/api/v1/incidents", headers=headers).get_json()["items"]]
    assert titles == ["Leaked keys"]


def test_admins_see_it(private_case, client, auth):
    for url in _urls(private_case):
        assert client.get(url, headers=auth).status_code == 200


def test_a_new_responder_gains_access(private_case, client, auth):
    iid = private_case["incident"]["id"]
    client.post(f"/api/v1/incidents/{iid}/roles", json={"email": "outsider@example.com", "role": "data_analyst", "override_reason": "pulled the audit logs afterwards"}, headers=auth)
    assert client.get(f"/api/v1/incidents/{iid}", headers=private_case["outsider"]).status_code == 200


def test_private_incident_page_is_404_for_outsiders(private_case, app):
    web = sign_in(app, "outsider@example.com")
    page = web.get(f"/incidents/{private_case['incident']['id']}")
    assert page.status_code == 404
    assert not Page.of(page).shows("Leaked keys")
    assert not Page.of(web.get("/")).shows("Leaked keys")


def test_a_private_incidents_external_id_tells_an_outsider_nothing(client, factory, auth):
    secret = factory.incident(auth, visibility="private", external_id="pagerduty:PSECRET")
    _, outsider = factory.user(email="curious@example.com")
    commander = factory.person().email
    body = {"title": "Probe", "severity": "SEV2", "commander": commander, "external_id": "pagerduty:PSECRET"}
    probe = client.post("/api/v1/incidents", json=body, headers=outsider)
    fresh = client.post("/api/v1/incidents", json=body | {"external_id": "pagerduty:PNEVERUSED"}, headers=outsider)
    # The same answer as for an id nobody uses: the private incident's existence is not revealed.
    assert (probe.status_code, fresh.status_code) == (201, 201), probe.get_json()
    assert probe.get_json()["id"] != secret["id"]
    # Whoever can see an incident holding the id is refused, as before.
    again = client.post("/api/v1/incidents", json=body, headers=auth)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate_external_id"
    # Public ids stay unique for everyone: making the private one public now conflicts, in words.
    made_public = client.patch(f"/api/v1/incidents/{secret['id']}", json={"visibility": "public"}, headers=auth)
    assert made_public.status_code == 409 and "visibility" in made_public.get_json()["error"]["fields"]
