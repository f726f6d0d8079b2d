"""The incident commander's pages: declare an incident, change its status and resolve it, add timeline
events and roles, and see the booked retro at once; through the Flask client with a signed-in cookie."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.incidents.wording import countdown, note_in_words
from tests.web import Page, csrf_token, sign_in

BERLIN = ZoneInfo("Europe/Berlin")
# A Friday afternoon in the past: the retro's deadline is Wednesday 25 Nov, 16:30 in Berlin.
FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
# What a page must never show a person: the API's names and raw timestamps.
API_NAMES = re.compile(r"\b(override_reason|resolved_at|started_at|occurred_at|detected_at|external_id|"
                       r"executive_sponsor|communications_lead|validation_error|spectator_not_allowed|"
                       r"facilitator_involved|unknown_person|None)\b")
ISO = re.compile(r"\d{4}-\d\d-\d\d")


@pytest.fixture
def settings_overrides():
    return {"timezone": "Europe/Berlin"}


@pytest.fixture
def team(factory, admin):
    """Ivy commands an open public incident and an open private one; Mo is a member, Otto an outsider."""
    factory.user(email="ivy@example.com", name="Ivy Commander")
    factory.user(email="mo@example.com", name="Mo Member")
    factory.user(email="otto@example.com", name="Otto Outsider")
    factory.person(email="sam@example.com", name="Sam Scribe")
    started = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    public = factory.incident(admin[1], title="Checkout errors", commander="ivy@example.com", started_at=started)
    private = factory.incident(admin[1], title="Leaked keys", commander="ivy@example.com", visibility="private",
                               started_at=started)
    return {"public": public, "private": private, "auth": admin[1]}


def _api(client, auth, path):
    response = client.get(f"/api/v1{path}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _post(web, path, form, page="/"):
    """Post a form with the CSRF token the page carries."""
    token = csrf_token(web.get(page).get_data(as_text=True))
    return web.post(path, data={"csrf_token": token} | form)


def _local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


def _reads_in_words(html: Page, where: str) -> None:
    assert not API_NAMES.search(html.text), (where, API_NAMES.search(html.text))
    assert not ISO.search(html.text), (where, ISO.search(html.text))


# -- who may come in -------------------------------------------------------------------------------

def _routes(incident_id: int) -> list[tuple[str, str]]:
    return [("get", "/incidents/new"), ("post", "/incidents/new"), ("get", f"/incidents/{incident_id}"),
            ("post", f"/incidents/{incident_id}/status"), ("post", f"/incidents/{incident_id}/timeline"),
            ("post", f"/incidents/{incident_id}/roles")]


def test_signed_out_visitors_are_sent_to_sign_in(app, team):
    web = app.test_client()
    token = csrf_token(web.get("/login").get_data(as_text=True))
    for method, path in _routes(team["public"]["id"]):
        response = getattr(web, method)(path, data={"csrf_token": token} if method == "post" else None)
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/login?next="), (method, path)


def test_an_outsider_gets_404_for_a_private_incident_and_changes_nothing(app, client, team):
    iid = team["private"]["id"]
    before = _api(client, team["auth"], f"/incidents/{iid}")
    web = sign_in(app, "otto@example.com")
    page = web.get(f"/incidents/{iid}")
    assert page.status_code == 404 and not Page.of(page).shows("Leaked keys")
    posts = {
        "status": {"status": "resolved", "resolved_at": _local(datetime.now(UTC))},
        "timeline": {"occurred_at": _local(datetime.now(UTC)), "text": "I was here"},
        "roles": {"email": "otto@example.com", "role": "scribe", "started_at": _local(datetime.now(UTC))},
    }
    for route, form in posts.items():
        response = _post(web, f"/incidents/{iid}/{route}", form)
        assert response.status_code == 404, route
        assert not Page.of(response).shows("Leaked keys")
    assert _api(client, team["auth"], f"/incidents/{iid}") == before
    assert _api(client, team["auth"], f"/incidents/{iid}/timeline")["items"] == []


def test_the_team_of_a_private_incident_gets_its_forms(app, team):
    html = Page.of(sign_in(app, "ivy@example.com").get(f"/incidents/{team['private']['id']}"))
    actions = {form.attrs["action"] for form in html.find_all("form") if form.attrs.get("method") == "post"}
    iid = team["private"]["id"]
    assert {f"/incidents/{iid}/status", f"/incidents/{iid}/timeline", f"/incidents/{iid}/roles"} <= actions


# -- the list and declaring --------------------------------------------------------------------------

def test_the_empty_list_points_at_the_declare_page(app, admin):
    html = Page.of(sign_in(app, "admin@example.com").get("/"))
    assert html.by_id("declare").attrs["href"] == "/incidents/new"
    empty = html.by_id("no-incidents")
    assert "declare an incident" in empty.text and "/api/v1" not in empty.text
    assert html.find("a", href="/incidents/new")


def test_the_declare_form_defaults_to_the_signed_in_commander_and_now(app, team):
    response = sign_in(app, "mo@example.com").get("/incidents/new")
    assert response.status_code == 200
    html = Page.of(response)
    chosen = [o for o in html.find_all("option") if "selected" in o.attrs]
    assert [(o.attrs["value"], o.text) for o in chosen] == [("mo@example.com", "Mo Member")]
    names = html.texts("option")
    assert "Ivy Commander" in names and "Sam Scribe" in names
    assert "checked" in html.find("input", name="severity", value="SEV1").attrs
    assert "checked" in html.find("input", name="visibility", value="public").attrs
    assert "Europe/Berlin" in html.text and "Only its response team" in html.text and "Critical" in html.text
    started = datetime.strptime(html.find("input", name="started_at").attrs["value"], "%Y-%m-%dT%H:%M")
    assert abs(started.replace(tzinfo=BERLIN) - datetime.now(UTC)) < timedelta(minutes=2)
    for control in html.find_all("input") + html.find_all("select") + html.find_all("textarea"):
        if control.attrs.get("type") not in ("hidden", "radio"):
            assert html.find("label", for_=control.attrs["id"]), control.attrs
    _reads_in_words(html, "declare")


def test_declaring_an_incident_takes_the_api_path_and_shows_it(app, client, team):
    web = sign_in(app, "mo@example.com")
    response = _post(web, "/incidents/new", {
        "title": "Search is slow", "severity": "SEV0", "commander": "ivy@example.com", "visibility": "public",
        "description": "p99 at 4 s", "started_at": "2026-12-01T09:15",
    }, page="/incidents/new")
    assert response.status_code == 302
    incident_id = int(response.headers["Location"].rsplit("/", 1)[1])
    html = Page.of(web.get(response.headers["Location"]))
    assert html.find("div", role="status").text == "Incident declared; Ivy Commander is its commander."
    assert "Search is slow" in html.text and "Tue 1 Dec, 09:15" in html.text
    saved = _api(client, team["auth"], f"/incidents/{incident_id}")
    assert (saved["severity"], saved["visibility"], saved["commander"], saved["description"]) == \
        ("SEV0", "public", "ivy@example.com", "p99 at 4 s")
    assert saved["started_at"] == "2026-12-01T08:15:00Z"  # typed in Berlin, kept in UTC
    assert [(r["email"], r["role"]) for r in saved["roles"]] == [("ivy@example.com", "commander")]


def test_declaring_a_private_incident_for_someone_else_says_who_can_open_it(app, client, team):
    web = sign_in(app, "mo@example.com")
    response = _post(web, "/incidents/new", {
        "title": "Secret leak", "severity": "SEV1", "commander": "ivy@example.com", "visibility": "private",
    }, page="/incidents/new")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    warning = Page.of(web.get("/")).find("div", class_="flash warning")
    assert warning.text == ("Incident declared; Ivy Commander is its commander. It is private and you hold no role "
                            "in it, so only its team and admins can open it.")
    titles = [i["title"] for i in _api(client, team["auth"], "/incidents")["items"]]
    assert "Secret leak" in titles


def test_a_refused_declaration_keeps_what_was_typed_and_saves_nothing(app, client, team):
    count = len(_api(client, team["auth"], "/incidents")["items"])
    web = sign_in(app, "mo@example.com")
    response = _post(web, "/incidents/new", {
        "title": "   ", "severity": "SEV2", "commander": "ivy@example.com", "visibility": "public",
        "description": "what I wrote", "started_at": "yesterday-ish",
    }, page="/incidents/new")
    assert response.status_code == 422
    html = Page.of(response)
    assert html.find("div", role="alert").text.startswith("Some fields need another look")
    assert html.by_id("title-error").text == "Fill this in."
    assert html.by_id("started_at-error").text == "Give a date and a time."
    assert html.find("textarea", name="description").raw_text == "what I wrote"
    assert html.find("input", name="started_at").attrs["value"] == "yesterday-ish"
    assert "checked" in html.find("input", name="severity", value="SEV2").attrs
    _reads_in_words(html, "declare refused")
    assert len(_api(client, team["auth"], "/incidents")["items"]) == count


def test_an_unknown_commander_is_said_in_words(app, client, team):
    response = _post(sign_in(app, "mo@example.com"), "/incidents/new", {
        "title": "Ghost", "severity": "SEV2", "commander": "ghost@example.com", "visibility": "public",
    }, page="/incidents/new")
    assert response.status_code == 422
    html = Page.of(response)
    assert html.find("div", role="alert").text.startswith("Nobody with that email is known")
    assert "ghost@example.com" in html.by_id("commander-error").text
    assert "Ghost" not in [i["title"] for i in _api(client, team["auth"], "/incidents")["items"]]


# -- status and resolution: the booked retro at once ------------------------------------------------

def test_resolving_books_the_retro_and_shows_it_at_once(app, client, team):
    iid = team["public"]["id"]
    web = sign_in(app, "mo@example.com")  # a member who may see it may change it, as in the API
    resolved_at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    response = _post(web, f"/incidents/{iid}/status", {"status": "resolved", "resolved_at": _local(resolved_at)},
                     page=f"/incidents/{iid}")
    assert response.status_code == 302 and response.headers["Location"] == f"/incidents/{iid}"
    html = Page.of(web.get(f"/incidents/{iid}"))
    saved = _api(client, team["auth"], f"/incidents/{iid}")
    retro = _api(client, team["auth"], f"/incidents/{iid}/retrospective")
    assert saved["status"] == "resolved"
    assert datetime.fromisoformat(saved["resolved_at"]) == resolved_at
    flash = html.find("div", role="status").text
    assert flash.startswith("The incident is resolved: its retrospective is due by ")
    card = html.by_id("retro")
    assert "Pending: booked, not scheduled yet." in card.text
    assert re.search(r"Deadline \w{3} \d{1,2} \w{3}, \d\d:\d\d \(due in \d+ days?( \d+ hours?)?\)", card.text), card.text
    assert "Ivy Commander" in card.text  # a participant
    links = {a.attrs["href"] for a in html.find_all("a")}
    assert f"/retrospectives/{retro['id']}/schedule" in links and f"/retrospectives/{retro['id']}/facilitate" in links
    assert html.find("a", href=f"/retrospectives/{retro['id']}/schedule").text == "Schedule it"
    _reads_in_words(html, "resolved")


def test_an_overdue_retro_says_how_late_it_is(app, team, factory):
    incident, _retro = factory.resolved_incident(team["auth"], resolved_at=FRIDAY, commander="ivy@example.com")
    html = Page.of(sign_in(app, "ivy@example.com").get(f"/incidents/{incident['id']}"))
    card = html.by_id("retro")
    assert "Deadline Wed 25 Nov, 16:30" in card.text
    assert re.search(r"\(\d+ days?( \d+ hours?)? overdue\)", card.text), card.text
    assert "overdue" in card.attrs["class"]


def test_a_resolution_before_the_start_is_refused_in_words(app, client, team):
    iid = team["public"]["id"]
    web = sign_in(app, "ivy@example.com")
    too_early = _local(datetime.now(UTC) - timedelta(days=2))
    response = _post(web, f"/incidents/{iid}/status", {"status": "resolved", "resolved_at": too_early},
                     page=f"/incidents/{iid}")
    assert response.status_code == 422
    html = Page.of(response)
    assert html.by_id("status-resolved_at-error").text == "Must not be before the incident's start"
    assert html.find("input", name="resolved_at").attrs["value"] == too_early
    assert "selected" in html.find("option", value="resolved").attrs
    assert "open" in html.by_id("status").attrs
    _reads_in_words(html, "status refused")
    saved = _api(client, team["auth"], f"/incidents/{iid}")
    assert (saved["status"], saved["resolved_at"], saved["retrospective_id"]) == ("investigating", None, None)


def test_changing_the_status_and_saving_it_unchanged(app, client, team):
    iid = team["public"]["id"]
    web = sign_in(app, "ivy@example.com")
    response = _post(web, f"/incidents/{iid}/status", {"status": "identified", "resolved_at": ""}, page=f"/incidents/{iid}")
    assert response.status_code == 302
    assert Page.of(web.get(f"/incidents/{iid}")).find("div", role="status").text == "The incident is now Identified."
    assert _api(client, team["auth"], f"/incidents/{iid}")["status"] == "identified"
    again = _post(web, f"/incidents/{iid}/status", {"status": "identified", "resolved_at": ""}, page=f"/incidents/{iid}")
    assert again.status_code == 302
    assert Page.of(web.get(f"/incidents/{iid}")).find("div", role="status").text == "Nothing changed."


def test_reopening_withdraws_a_retro_not_yet_scheduled(app, client, team, factory):
    incident, retro = factory.resolved_incident(team["auth"], commander="ivy@example.com")
    iid = incident["id"]
    web = sign_in(app, "ivy@example.com")
    response = _post(web, f"/incidents/{iid}/status", {"status": "contained", "resolved_at": ""}, page=f"/incidents/{iid}")
    assert response.status_code == 302
    html = Page.of(web.get(f"/incidents/{iid}"))
    assert html.find("div", role="status").text == ("The incident is now Contained; its retrospective, not yet "
                                                    "scheduled, is withdrawn until the incident is resolved again.")
    assert "Withdrawn: the incident was reopened" in html.by_id("retro").text
    assert _api(client, team["auth"], f"/retrospectives/{retro['id']}")["status"] == "withdrawn"


# -- the timeline -----------------------------------------------------------------------------------

def test_an_event_joins_the_timeline_under_its_day_with_its_time(app, client, team):
    iid = team["public"]["id"]
    web = sign_in(app, "mo@example.com")
    when = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    response = _post(web, f"/incidents/{iid}/timeline", {"occurred_at": _local(when), "text": "Rolled back <b>v2</b>"},
                     page=f"/incidents/{iid}")
    assert response.status_code == 302 and response.headers["Location"].endswith("#timeline")
    html = Page.of(web.get(f"/incidents/{iid}"))
    clock = when.astimezone(BERLIN).strftime("%H:%M")
    assert html.find("div", role="status").text.endswith(f"{clock} is on the timeline.")
    rows = [r for r in html.find_all("tr", class_="event")]
    assert [r.text for r in rows] == [f"{clock} Note Rolled back <b>v2</b> Mo Member"]
    days = html.texts("th", scope="rowgroup")
    assert len(days) == 1 and re.fullmatch(r"\w{3} \d{1,2} \w{3}", days[0])
    [event] = _api(client, team["auth"], f"/incidents/{iid}/timeline")["items"]
    assert (event["text"], event["author"], datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))) == \
        ("Rolled back <b>v2</b>", "Mo Member", when)


def test_an_event_without_text_is_refused_and_the_time_kept(app, client, team):
    iid = team["public"]["id"]
    response = _post(sign_in(app, "mo@example.com"), f"/incidents/{iid}/timeline",
                     {"occurred_at": "2026-12-01T10:05", "text": "  "}, page=f"/incidents/{iid}")
    assert response.status_code == 422
    html = Page.of(response)
    assert html.by_id("event-text-error").text == "Fill this in."
    assert html.find("input", name="occurred_at").attrs["value"] == "2026-12-01T10:05"
    assert "open" in html.by_id("add-event").attrs
    _reads_in_words(html, "event refused")
    assert _api(client, team["auth"], f"/incidents/{iid}/timeline")["items"] == []


# -- roles and handoffs -----------------------------------------------------------------------------

def test_handing_command_over_ends_the_previous_holders_role(app, client, team):
    iid = team["public"]["id"]
    web = sign_in(app, "ivy@example.com")
    response = _post(web, f"/incidents/{iid}/roles", {"email": "sam@example.com", "role": "commander", "started_at": ""},
                     page=f"/incidents/{iid}")
    assert response.status_code == 302
    html = Page.of(web.get(f"/incidents/{iid}"))
    assert html.find("div", role="status").text == "Sam Scribe takes over as Commander from Ivy Commander."
    assert "handed to Sam Scribe" in html.by_id("team").text
    roles = _api(client, team["auth"], f"/incidents/{iid}")["roles"]
    assert [(r["email"], r["role"], r["ended_at"] is None) for r in roles] == [
        ("ivy@example.com", "commander", False), ("sam@example.com", "commander", True)]
    again = _post(web, f"/incidents/{iid}/roles", {"email": "mo@example.com", "role": "communications_lead"},
                  page=f"/incidents/{iid}")
    assert again.status_code == 302
    page = Page.of(web.get(f"/incidents/{iid}"))
    assert page.find("div", role="status").text == "Mo Member is now Communications lead."
    assert "Communications lead" in page.by_id("team").text
    _reads_in_words(page, "roles")


def test_a_late_newcomer_needs_a_reason_asked_in_words(app, client, team, factory):
    incident, retro = factory.resolved_incident(team["auth"], commander="ivy@example.com")
    iid = incident["id"]
    web = sign_in(app, "ivy@example.com")
    form = {"email": "sam@example.com", "role": "data_analyst", "started_at": _local(datetime.now(UTC))}
    page = Page.of(web.get(f"/incidents/{iid}"))
    assert not page.find_all("input", name="override_reason")  # asked only when the rule refuses
    refused = _post(web, f"/incidents/{iid}/roles", form, page=f"/incidents/{iid}")
    assert refused.status_code == 422
    html = Page.of(refused)
    assert html.find("div", role="alert").text.startswith("Sam Scribe was not on the response team")
    assert "selected" in html.find("option", value="sam@example.com").attrs
    assert "selected" in html.find("option", value="data_analyst").attrs
    assert html.find("label", for_="role-override_reason").text == "Reason to add them to the retro anyway"
    _reads_in_words(html, "role refused")
    assert len(_api(client, team["auth"], f"/incidents/{iid}")["roles"]) == 1
    accepted = _post(web, f"/incidents/{iid}/roles", form | {"override_reason": "pulled the logs afterwards"},
                     page=f"/incidents/{iid}")
    assert accepted.status_code == 302
    saved = _api(client, team["auth"], f"/retrospectives/{retro['id']}")
    assert [(o["rule"], o["reason"]) for o in saved["overrides"]] == [("spectator_not_allowed", "pulled the logs afterwards")]
    assert "sam@example.com" in saved["participants"]


def test_the_facilitator_may_not_take_a_role_and_is_told_so(app, client, team, factory):
    incident, retro = factory.resolved_incident(team["auth"], commander="ivy@example.com")
    assert client.patch(f"/api/v1/retrospectives/{retro['id']}", json={"facilitator": "mo@example.com"},
                        headers=team["auth"]).status_code == 200
    iid = incident["id"]
    response = _post(sign_in(app, "ivy@example.com"), f"/incidents/{iid}/roles",
                     {"email": "mo@example.com", "role": "scribe", "started_at": ""}, page=f"/incidents/{iid}")
    assert response.status_code == 422
    html = Page.of(response)
    assert html.find("div", role="alert").text.startswith("Mo Member facilitates the retro, so may not hold a role.")
    assert not html.find_all("input", name="override_reason")  # this rule takes no reason
    _reads_in_words(html, "facilitator refused")
    assert [r["email"] for r in _api(client, team["auth"], f"/incidents/{iid}")["roles"]] == ["ivy@example.com"]


def test_a_role_needs_a_person_and_a_role(app, client, team):
    iid = team["public"]["id"]
    response = _post(sign_in(app, "ivy@example.com"), f"/incidents/{iid}/roles",
                     {"email": "", "role": "", "started_at": ""}, page=f"/incidents/{iid}")
    assert response.status_code == 422
    html = Page.of(response)
    assert html.by_id("role-email-error").text == "Fill this in." and html.by_id("role-role-error").text == "Fill this in."
    assert len(_api(client, team["auth"], f"/incidents/{iid}")["roles"]) == 1


# -- words --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("left,words", [
    (timedelta(days=2, hours=4, minutes=10), "due in 2 days 4 hours"),
    (timedelta(days=1), "due in 1 day"),
    (timedelta(hours=3, minutes=59), "due in 3 hours"),
    (timedelta(minutes=40), "due in 40 minutes"),
    (timedelta(seconds=20), "due in 1 minute"),
    (-timedelta(hours=3, minutes=5), "3 hours overdue"),
    (-timedelta(days=10, hours=1), "10 days 1 hour overdue"),
])
def test_countdown_in_words(left, words):
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert countdown(now + left, now) == words


def test_field_notes_name_no_field_and_no_timestamp():
    said = note_in_words("must not be before 2026-11-20T08:00:00+00:00", lambda moment: moment.strftime("%a %d %b, %H:%M"))
    assert said == "Must not be before Fri 20 Nov, 08:00"
    assert note_in_words("must not be before started_at", str) == "Must not be before the incident's start"
    assert note_in_words("String should have at most 300 characters", str) == "Keep it to 300 characters."
