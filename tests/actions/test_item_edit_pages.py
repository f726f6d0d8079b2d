"""Changing an action item from its page: edit, snooze, split, retry a Jira push, sync now.

Each form goes the API's way (same history rows, same Jira push, against the loopback Jira
stand-in); refusals are in words with what was typed kept; a private incident's item is 404 to
an outsider on every route, and nothing changes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.actions.conftest import in_days, outbox_rows
from tests.web import Page, csrf_token, page_csrf_token, sign_in

OWNER = "owen@example.com"
MEMBER = "mia@example.com"
OUTSIDER = "otto@example.com"
RAW_ERROR = re.compile(r"HTTPConnectionPool|NewConnectionError|Errno|Traceback|Max retries|last_sync_error|_")


@pytest.fixture
def people(factory):
    """The item's owner, a responder who does not own it, and someone outside the private incident."""
    return {email: factory.user(email=email, name=name)
            for email, name in ((OWNER, "Owen Owner"), (MEMBER, "Mia Member"), (OUTSIDER, "Otto Outsider"))}


@pytest.fixture
def item(client, auth, factory, people):
    """An item of a private incident, owned by Owen; Mia holds a role in the incident, Otto none."""
    started = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat()
    incident = factory.incident(auth, visibility="private", commander=OWNER, started_at=started)
    assert client.post(f"/api/v1/incidents/{incident['id']}/roles", headers=auth,
                       json={"email": MEMBER, "role": "scribe"}).status_code == 201
    assert client.patch(f"/api/v1/incidents/{incident['id']}", headers=auth, json={"status": "resolved"}).status_code == 200
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    response = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", headers=auth,
                           json={"title": "Add a canary", "owner": OWNER, "due_date": in_days(10)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def web_as(app, email):
    return sign_in(app, email)


def post_form(web, path, data, page="/action-items"):
    return web.post(path, data={"csrf_token": page_csrf_token(web, page)} | data)


def read(client, auth, item_id):
    return client.get(f"/api/v1/action-items/{item_id}", headers=auth).get_json()


def history(client, auth, item_id):
    rows = client.get(f"/api/v1/action-items/{item_id}/history", headers=auth).get_json()["items"]
    return [(r["field"], r["old"], r["new"], r["via"], r["by"]) for r in rows]


def edit_form(item, **changes):
    loaded = {"title": item["title"], "owner": item["owner"], "due_date": item["due_date"],
              "status": item["status"], "priority": item["priority"]}
    return {f"loaded_{k}": v for k, v in loaded.items()} | loaded | changes


ROUTES = [
    ("POST", "", {"title": "Hijacked"}),
    ("POST", "/snooze", {"until": in_days(3), "reason": "on leave"}),
    ("POST", "/snooze/end", {}),
    ("POST", "/split", {"parts": "One\nTwo", "owner": OWNER, "due_date": in_days(5)}),
    ("POST", "/sync", {}),
]


@pytest.mark.parametrize("method,tail,data", [("GET", "", {})] + ROUTES)
def test_outsiders_get_404_and_change_nothing(app, client, auth, item, jira, method, tail, data):
    before = (read(client, auth, item["id"]), history(client, auth, item["id"]), len(jira.log))
    web = web_as(app, OUTSIDER)
    path = f"/action-items/{item['id']}{tail}"
    response = web.get(path) if method == "GET" else post_form(web, path, data)
    assert response.status_code == 404
    assert "Add a canary" not in response.get_data(as_text=True)
    after = (read(client, auth, item["id"]), history(client, auth, item["id"]), len(jira.log))
    assert after == before


@pytest.mark.parametrize("method,tail,data", [("GET", "", {})] + ROUTES)
def test_signed_out_visitors_are_sent_to_sign_in(app, client, auth, item, method, tail, data):
    before = history(client, auth, item["id"])
    web = app.test_client()
    path = f"/action-items/{item['id']}{tail}"
    token = csrf_token(web.get("/login").get_data(as_text=True))
    response = web.get(path) if method == "GET" else web.post(path, data={"csrf_token": token} | data)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert history(client, auth, item["id"]) == before


def test_the_owner_edits_it_like_the_api_does(app, client, auth, item, jira):
    twin = client.post(f"/api/v1/retrospectives/{item['retrospective_id']}/action-items", headers=auth,
                       json={"title": "Add a canary", "owner": OWNER, "due_date": in_days(10)}).get_json()
    changes = {"title": "Add a canary to checkout", "status": "wont_do", "priority": "high",
               "due_date": in_days(12), "owner": MEMBER}
    web = web_as(app, OWNER)
    page = Page.of(web.get(f"/action-items/{item['id']}"))
    owners = [o.attrs["value"] for o in page.find_all("option") if "@" in (o.attrs.get("value") or "")]
    assert MEMBER in owners and OWNER in owners and OUTSIDER not in owners  # who may own a private item
    assert "Won't do" in page.texts("option", value="wont_do")
    response = post_form(web, f"/action-items/{item['id']}", edit_form(item, **changes))
    assert response.status_code == 302
    assert client.patch(f"/api/v1/action-items/{twin['id']}", json=changes, headers=auth).status_code == 200

    def without_who(rows):
        return [(field, old, new) for field, old, new, _via, _by in rows if field not in ("created", "jira_key")]

    mine, theirs = history(client, auth, item["id"]), history(client, auth, twin["id"])
    assert without_who(mine) == without_who(theirs) and len(without_who(mine)) == 5
    assert {(via, by) for field, _o, _n, via, by in mine if field in changes} == {("web", OWNER)}
    shown = read(client, auth, item["id"])
    assert shown["sync_status"] == "synced" and shown["title"] == "Add a canary to checkout"
    issue = jira.issue(shown["jira_key"])["fields"]
    twin_issue = jira.issue(read(client, auth, twin["id"])["jira_key"])["fields"]
    for name in ("duedate", "status", "assignee"):
        assert issue[name] == twin_issue[name]
    assert issue["status"]["statusCategory"]["key"] == "done"
    after = Page.of(web.get(f"/action-items/{item['id']}"))
    assert "Saved." in after.texts("div", class_="flash", role="status")
    rows = after.by_id("history").text
    assert "Mia Member" in rows and "Owen Owner" in rows and MEMBER not in rows and "Won't do" in rows
    assert "High" in rows and "Web page" in rows and not re.search(r"\d{4}-\d\d-\d\d", rows)


def test_only_the_fields_changed_on_the_form_are_sent(app, client, auth, item):
    web = web_as(app, OWNER)
    form = edit_form(item, title="Renamed on the page")
    client.patch(f"/api/v1/action-items/{item['id']}", json={"priority": "critical"}, headers=auth)
    assert post_form(web, f"/action-items/{item['id']}", form).status_code == 302
    shown = read(client, auth, item["id"])
    assert shown["title"] == "Renamed on the page" and shown["priority"] == "critical"  # the other change stays
    assert post_form(web, f"/action-items/{item['id']}", edit_form(shown)).status_code == 302
    assert "Nothing changed." in Page.of(web.get(f"/action-items/{item['id']}")).text


def test_refusals_are_in_words_and_keep_what_was_typed(app, client, auth, item):
    web = web_as(app, OWNER)
    before = history(client, auth, item["id"])
    response = post_form(web, f"/action-items/{item['id']}",
                         edit_form(item, owner=OUTSIDER, title="Typed title", due_date=in_days(20)))
    assert response.status_code == 422
    page = Page.of(response)
    alert = page.find("div", role="alert", class_="error").text
    assert "Otto Outsider cannot see this private incident" in alert
    assert "owner_cannot_view" not in page.text and "POST /api" not in page.text
    assert page.find("input", id="edit-title").attrs["value"] == "Typed title"
    assert page.find("input", id="edit-due_date").attrs["value"] == in_days(20)
    assert "selected" in page.find("option", value=OUTSIDER).attrs
    assert page.by_id("edit-owner-error").text
    assert history(client, auth, item["id"]) == before and read(client, auth, item["id"])["title"] == "Add a canary"

    bad = post_form(web, f"/action-items/{item['id']}", edit_form(item, title="", due_date="2026-02-30"))
    assert bad.status_code == 422
    page = Page.of(bad)
    assert "title" in page.find("div", role="alert").text and "due date" in page.find("div", role="alert").text
    assert page.by_id("edit-title-error").text.startswith("Give it a title")
    assert page.by_id("edit-due_date-error").text == "Pick a date."
    assert "validation_error" not in page.text and "String should" not in page.text
    assert history(client, auth, item["id"]) == before


def test_the_owner_snoozes_and_wakes_reminders_as_the_api_does(app, client, auth, item):
    web = web_as(app, OWNER)
    path = f"/action-items/{item['id']}"
    assert post_form(web, f"{path}/snooze", {"until": in_days(3), "reason": "on call this week"}).status_code == 302
    page = Page.of(web.get(path))
    assert "Reminders snoozed until" in page.text and "on call this week" in page.by_id("reminders").text
    assert history(client, auth, item["id"])[-1] == ("snoozed_until", None, in_days(3), "web", OWNER)
    assert post_form(web, f"{path}/snooze/end", {}).status_code == 302
    assert history(client, auth, item["id"])[-1] == ("snoozed_until", in_days(3), None, "web", OWNER)
    assert "Reminders are back on." in Page.of(web.get(path)).text

    again = post_form(web, f"{path}/snooze/end", {})
    assert again.status_code == 422 and "not snoozed" in Page.of(again).find("div", role="alert").text
    past = post_form(web, f"{path}/snooze", {"until": in_days(0), "reason": "typed reason"})
    assert past.status_code == 422
    page = Page.of(past)
    assert page.by_id("snooze-until-error").text.startswith("Pick a day after today")
    assert page.find("input", id="snooze-reason").attrs["value"] == "typed reason"
    assert not re.search(r"\d{4}-\d\d-\d\d", page.by_id("snooze-until-error").text)


def test_only_the_owner_or_an_admin_may_snooze_and_a_closed_item_cannot_be(app, client, auth, item):
    member = web_as(app, MEMBER)
    path = f"/action-items/{item['id']}"
    assert "Only the owner or an admin" in Page.of(member.get(path)).by_id("reminders").text
    refused = post_form(member, f"{path}/snooze", {"until": in_days(3), "reason": "not mine"})
    assert refused.status_code == 403
    assert "Only the item's owner or an admin" in Page.of(refused).find("div", role="alert").text
    client.patch(path.replace("/action-items", "/api/v1/action-items"), json={"status": "done"}, headers=auth)
    closed = post_form(web_as(app, OWNER), f"{path}/snooze", {"until": in_days(3), "reason": "done anyway"})
    assert closed.status_code == 422 and "nothing to snooze" in Page.of(closed).find("div", role="alert").text
    assert [row[0] for row in history(client, auth, item["id"]) if row[0] != "jira_key"] == ["created", "status"]


def test_split_in_place_links_the_parts_and_warns_when_still_too_big(app, client, auth, item):
    web = web_as(app, OWNER)
    path = f"/action-items/{item['id']}"
    response = post_form(web, f"{path}/split", {"parts": "Write the canary\n\nRoll it out\n", "owner": OWNER,
                                               "due_date": in_days(7), "close_original": "on"})
    assert response.status_code == 302
    page = Page.of(web.get(path))
    flash = page.find("div", class_="flash", role="status").text
    assert re.fullmatch(r"Split into #\d+, #\d+\.", flash)
    child_ids = [int(n) for n in re.findall(r"#(\d+)", flash)]
    links = {a.attrs.get("href") for a in page.find_all("a")}
    assert {f"/action-items/{n}" for n in child_ids} <= links  # the parts are links
    assert [a.text for a in page.find_all("a", href=f"/action-items/{child_ids[0]}")][0] == f"#{child_ids[0]}"
    assert read(client, auth, item["id"])["status"] == "wont_do"
    child_id = child_ids[0]
    child = Page.of(web.get(f"/action-items/{child_id}"))
    assert child.find("a", href=path).text == f"#{item['id']}"  # "split from #N" is a link

    big = post_form(web, f"/action-items/{child_id}/split", {"parts": "Far away", "owner": OWNER,
                                                           "due_date": in_days(90)})
    assert big.status_code == 302
    shown = Page.of(web.get(f"/action-items/{child_id}"))
    assert shown.find_all("div", class_="flash", role="status") == []  # not a success
    assert "still due more than" in shown.find("div", class_="flash warning").text

    empty = post_form(web, f"{path}/split", {"parts": "  \n", "owner": OWNER, "due_date": in_days(7)})
    assert empty.status_code == 422
    assert Page.of(empty).by_id("split-parts-error").text.startswith("Write the title of each new item")


def test_a_failed_push_is_said_in_words_and_retry_sends_it_once_jira_is_back(app, client, auth, item, jira):
    first = read(client, auth, item["id"])
    assert first["sync_status"] == "synced"
    jira.stop_listening()
    web = web_as(app, OWNER)
    path = f"/action-items/{item['id']}"
    assert post_form(web, path, edit_form(item, due_date=in_days(14))).status_code == 302
    raw = read(client, auth, item["id"])
    assert raw["sync_status"] == "failed" and raw["last_sync_error"]  # the raw error is kept for the API and logs
    page = Page.of(web.get(path))
    words = page.by_id("sync-words").text
    assert words.startswith("Jira did not answer (connection refused). Nothing was lost; Hindsight will retry at ")
    assert re.search(r"retry at \w{3} \d{1,2} \w{3}( \d{4})?, \d\d:\d\d\.$", words)
    assert not RAW_ERROR.search(page.by_id("jira").text)
    assert page.find("a", href=f"{jira.url}/browse/{first['jira_key']}").text == first["jira_key"]

    still_down = post_form(web, f"{path}/sync", {})
    assert still_down.status_code == 302
    page = Page.of(web.get(path))
    assert "connection refused" in page.find("div", class_="flash error").text
    assert not RAW_ERROR.search(page.find("div", class_="flash error").text)

    jira.start_listening()
    assert post_form(web, f"{path}/sync", {}).status_code == 302
    page = Page.of(web.get(path))
    assert f"Pushed to Jira as {first['jira_key']}." in page.find("div", class_="flash", role="status").text
    assert len(jira.issues) == 1 and jira.issue(first["jira_key"])["fields"]["duedate"] == in_days(14)
    assert read(client, auth, item["id"])["sync_status"] == "synced" and outbox_rows(app) == []


def test_an_item_made_while_jira_was_down_is_created_once_by_retries(app, client, auth, item, jira):
    jira.stop_listening()
    response = client.post(f"/api/v1/retrospectives/{item['retrospective_id']}/action-items", headers=auth,
                           json={"title": "Made while down", "owner": OWNER, "due_date": in_days(5)})
    made = response.get_json()
    assert read(client, auth, made["id"])["sync_status"] == "failed"
    jira.start_listening()
    web = web_as(app, MEMBER)
    for _ in range(2):
        assert post_form(web, f"/action-items/{made['id']}/sync", {}).status_code == 302
    assert len(jira.issue_by_label(f"hindsight-{made['id']}")) == 1
    assert read(client, auth, made["id"])["sync_status"] == "synced"


def test_the_api_retries_one_item(app, client, auth, item, jira, people):
    jira.stop_listening()
    client.patch(f"/api/v1/action-items/{item['id']}", json={"due_date": in_days(15)}, headers=auth)
    jira.start_listening()
    answer = client.post(f"/api/v1/action-items/{item['id']}/sync", headers=auth)
    assert answer.status_code == 200 and answer.get_json()["sync_status"] == "synced"
    assert jira.issue(answer.get_json()["jira_key"])["fields"]["duedate"] == in_days(15)
    outsider_headers = people[OUTSIDER][1]
    assert client.post(f"/api/v1/action-items/{item['id']}/sync", headers=outsider_headers).status_code == 404


def test_sync_now_is_for_admins_and_says_what_it_did(app, client, auth, admin, item, jira):
    jira.stop_listening()
    client.patch(f"/api/v1/action-items/{item['id']}", json={"due_date": in_days(16)}, headers=auth)
    member = web_as(app, MEMBER)
    assert not Page.of(member.get("/action-items")).find_all("form", action="/action-items/sync-jira")
    assert post_form(member, "/action-items/sync-jira", {}).status_code == 403
    web = web_as(app, "admin@example.com")
    Page.of(web.get("/action-items")).find("form", action="/action-items/sync-jira")
    assert post_form(web, "/action-items/sync-jira", {}).status_code == 302
    failed = Page.of(web.get("/action-items")).find("div", class_="flash error").text
    assert "1 item could not be pushed" in failed and "Nothing was lost" in failed and not RAW_ERROR.search(failed)
    jira.start_listening()
    post_form(web, "/action-items/sync-jira", {})
    done = Page.of(web.get("/action-items")).find("div", class_="flash", role="status").text
    assert done.startswith("Jira sync done: 0 issues created, 1 issue updated")
    assert jira.issue(read(client, auth, item["id"])["jira_key"])["fields"]["duedate"] == in_days(16)


def test_an_unknown_owner_and_an_outsider_owning_a_part_are_refused_in_words(app, client, auth, item):
    web = web_as(app, MEMBER)
    before = history(client, auth, item["id"])
    unknown = post_form(web, f"/action-items/{item['id']}", edit_form(item, owner="nobody@example.com"))
    assert unknown.status_code == 422
    page = Page.of(unknown)
    assert page.find("div", role="alert").text == "Hindsight does not know that person. Pick someone from the list."
    assert "unknown_person" not in page.text and "POST /api" not in page.text
    split = post_form(web, f"/action-items/{item['id']}/split",
                      {"parts": "First\nSecond", "owner": OUTSIDER, "due_date": in_days(6)})
    assert split.status_code == 422
    page = Page.of(split)
    assert "Otto Outsider cannot see this private incident" in page.find("div", role="alert").text
    assert page.by_id("split-parts").raw_text == "First\nSecond"  # what was typed is kept
    assert page.by_id("split-owner-error").text
    assert history(client, auth, item["id"]) == before
