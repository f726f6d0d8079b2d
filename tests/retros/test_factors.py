"""Contributing factors: named in a retro from the configured taxonomy, each with a note, through the API
and the facilitation page; a private incident's factors stay with those who may see it."""

from __future__ import annotations

import pytest

from tests.web import Page, page_csrf_token, sign_in

from .conftest import FRIDAY


@pytest.fixture
def settings_overrides():
    return {"timezone": "Europe/Berlin", "factors": {"categories": [
        {"key": "change", "label": "Change or deploy", "kinds": {"deploy": "The deploy itself", "code": "A code change"}},
        {"key": "monitoring", "label": "Monitoring gap", "kinds": {"no_alert": "No alert fired"}},
    ]}}


def _factors(client, headers, retro_id):
    response = client.get(f"/api/v1/retrospectives/{retro_id}/factors", headers=headers)
    return response.status_code, (response.json or {}).get("items")


def test_the_taxonomy_is_the_configured_one(client, auth):
    categories = client.get("/api/v1/factors", headers=auth).json["categories"]
    assert [(c["key"], c["label"], [k["key"] for k in c["kinds"]]) for c in categories] == [
        ("change", "Change or deploy", ["change.deploy", "change.code"]),
        ("monitoring", "Monitoring gap", ["monitoring.no_alert"]),
    ]


def test_the_default_taxonomy_has_the_published_categories_with_kinds():
    from config import load_settings

    categories = load_settings(environ={}).factors.categories
    assert [c.key for c in categories] == [
        "change", "capacity", "dependency", "configuration", "monitoring", "process", "knowledge"]
    assert all(len(c.kinds) >= 3 for c in categories)


def test_factors_are_added_with_notes_and_removed(client, auth, team):
    _incident, retro = team
    path = f"/api/v1/retrospectives/{retro['id']}/factors"
    first = client.post(path, json={"factor": "change.deploy", "note": "The canary step was skipped"}, headers=auth)
    assert first.status_code == 201, first.json
    assert {k: first.json[k] for k in ("factor", "category", "label", "category_label", "note", "by")} == {
        "factor": "change.deploy", "category": "change", "label": "The deploy itself",
        "category_label": "Change or deploy", "note": "The canary step was skipped", "by": "admin@example.com",
    }
    assert client.post(path, json={"factor": "monitoring"}, headers=auth).status_code == 201
    assert [f["factor"] for f in _factors(client, auth, retro["id"])[1]] == ["change.deploy", "monitoring"]
    again = client.post(path, json={"factor": "change.deploy"}, headers=auth)
    assert again.status_code == 409 and again.json["error"]["code"] == "factor_exists"
    unknown = client.post(path, json={"factor": "change.weather"}, headers=auth)
    assert unknown.status_code == 422 and list(unknown.json["error"]["fields"]) == ["factor"]
    assert client.delete(f"{path}/change.deploy", headers=auth).status_code == 204
    assert client.delete(f"{path}/change.deploy", headers=auth).status_code == 404
    assert [f["factor"] for f in _factors(client, auth, retro["id"])[1]] == ["monitoring"]


def test_a_single_root_cause_field_does_not_exist(client, auth, team):
    _incident, retro = team
    refused = client.post(f"/api/v1/retrospectives/{retro['id']}/factors", json={"factor": "change", "root_cause": True},
                          headers=auth)
    assert refused.status_code == 422 and "root_cause" in refused.json["error"]["fields"]


def test_a_private_incidents_factors_are_hidden_from_outsiders(app, client, auth, factory, team):
    _incident, retro = team
    path = f"/api/v1/retrospectives/{retro['id']}/factors"
    assert client.post(path, json={"factor": "change.code", "note": "secret detail"}, headers=auth).status_code == 201
    _outsider, outsider = factory.user(email="otto2@example.com", name="Otto Two")
    assert _factors(client, outsider, retro["id"])[0] == 404
    assert client.post(path, json={"factor": "monitoring"}, headers=outsider).status_code == 404
    assert client.delete(f"{path}/change.code", headers=outsider).status_code == 404
    _responder, responder = factory.user(email="responder2@example.com", name="Rita Two")
    with app.app_context():
        from app.db import commit, get_session
        from app.incidents.flows import add_role
        from app.incidents.models import Incident

        session = get_session()
        add_role(session, incident=session.get(Incident, retro["incident_id"]), email="responder2@example.com",
                 role="subject_matter_expert", started_at=FRIDAY)
        commit(session)
    status, items = _factors(client, responder, retro["id"])
    assert status == 200 and [f["note"] for f in items] == ["secret detail"]
    outsider_web = sign_in(app, "outsider@example.com")
    assert outsider_web.get(f"/retrospectives/{retro['id']}/facilitate").status_code == 404
    token = page_csrf_token(outsider_web, "/")
    assert outsider_web.post(f"/retrospectives/{retro['id']}/factors",
                             data={"csrf_token": token, "factor": "monitoring"}).status_code == 404
    assert outsider_web.post(f"/retrospectives/{retro['id']}/factors/change.code/remove",
                             data={"csrf_token": token}).status_code == 404
    assert len(_factors(client, auth, retro["id"])[1]) == 1


def test_a_completed_retros_factors_are_read_only(app, client, auth, team):
    from app.db import commit, get_session
    from app.retros.models import Retrospective

    _incident, retro = team
    path = f"/api/v1/retrospectives/{retro['id']}/factors"
    assert client.post(path, json={"factor": "change"}, headers=auth).status_code == 201
    with app.app_context():
        session = get_session()
        session.get(Retrospective, retro["id"]).status = "completed"
        commit(session)
    refused = client.post(path, json={"factor": "monitoring"}, headers=auth)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "retro_completed"
    assert client.delete(f"{path}/change", headers=auth).status_code == 422
    html = Page.of(sign_in(app, "fran@example.com").get(f"/retrospectives/{retro['id']}/facilitate"))
    assert html.by_id("factors").text.startswith("Contributing factors named (1)")
    assert not html.find_all("form", id="new-factor")


def test_the_facilitation_page_offers_the_taxonomy_and_names_factors(app, team):
    _incident, retro = team
    web = sign_in(app, "fran@example.com")
    path = f"/retrospectives/{retro['id']}/facilitate"
    html = Page.of(web.get(path))
    card = html.by_id("factors")
    # Right after the document's Contributing factors section, before the next one.
    section = html.find("details", data_key="contributing_factors")
    following = [d for d in html.find_all("details") if d.attrs.get("data-key") and html.where(data_key=d.attrs["data-key"]) > html.where(data_key="contributing_factors")]
    assert html.where(data_key="contributing_factors") < html.where(id="factors")
    assert not following or html.where(id="factors") < html.where(data_key=following[0].attrs["data-key"])
    assert section.tag == "details"
    groups = [g.attrs["label"] for g in html.find_all("optgroup")]
    assert groups == ["Change or deploy", "Monitoring gap"]
    values = [o.attrs["value"] for o in html.find_all("option") if html.where(id="factor-key") < html.where(value=o.attrs["value"])]
    assert {"change", "change.deploy", "change.code", "monitoring", "monitoring.no_alert"} <= set(values)
    assert "None named yet." in card.text
    token = page_csrf_token(web, path)
    added = web.post(f"/retrospectives/{retro['id']}/factors",
                     data={"csrf_token": token, "factor": "change.deploy", "note": "Rolled out to <b>all</b> at once"})
    assert added.status_code == 302 and added.headers["Location"].endswith("open=factors#factors")
    shown = Page.of(web.get(f"{path}?open=factors"))
    assert "open" in shown.by_id("document").attrs
    item = shown.find("li", data_factor="change.deploy")
    assert " ".join(item.text.replace(" :", ":").split()).startswith(
        "Change or deploy: The deploy itself Rolled out to <b>all</b> at once")
    refused = web.post(f"/retrospectives/{retro['id']}/factors", data={"csrf_token": token, "factor": ""})
    assert refused.status_code == 422
    page = Page.of(refused)
    assert page.by_id("factor-key-error").text == "Pick a factor from the list."
    assert "open" in page.by_id("document").attrs
    duplicate = Page.of(web.post(f"/retrospectives/{retro['id']}/factors",
                                 data={"csrf_token": token, "factor": "change.deploy"}))
    assert duplicate.by_id("problem").text.startswith("The retro already names that contributing factor")
    removed = web.post(f"/retrospectives/{retro['id']}/factors/change.deploy/remove", data={"csrf_token": token})
    assert removed.status_code == 302
    assert "None named yet." in Page.of(web.get(path)).by_id("factors").text
