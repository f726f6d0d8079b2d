"""The engineering manager's job of issue 11, end to end in the browser, on a phone and on a laptop:
the action-item board filtered to one owner's overdue items, a due date changed in the row (its history
and the Jira push follow), two items closed at once, then last quarter's insights and their CSV.
(tests/e2e/test_insights.py checks the insights page's charts on their own.)"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.actions.models import ActionItem
from app.core.dates import org_today
from app.core.templating import when_text
from app.db import get_session
from app.extensions import settings
from app.metrics.pages import period_from
from tests.e2e.test_jobs import tab
from tests.e2e.test_page_standards import SCREENSHOTS, VIEWPORTS, axe_source, check
from tests.fakes import on_preferred_port
from tests.fakes.jira import FakeJira

expect = pytest.importorskip("playwright.sync_api").expect

OLIVIA = "olivia.owner@example.com"
SAM = "sam.second@example.com"


@pytest.fixture
def jira():
    fake = on_preferred_port("jira", lambda port: FakeJira(hang_seconds=1.0, port=port).start())
    fake.add_user(OLIVIA, name="olivia")
    fake.add_user(SAM, name="sam")
    yield fake
    fake.close()


@pytest.fixture
def settings_overrides(jira):
    return {"jira": {"url": jira.url, "project": "HS", "user": "bot@example.com", "token": "api-token",
                     "timeout_seconds": 2, "retry_base_seconds": 30, "retry_max_seconds": 600}}


@pytest.fixture
def last_quarter(app, client, auth, factory) -> dict[str, Any]:
    """An incident resolved last quarter, its retro's five items (three overdue, two of them Olivia's), each in Jira."""
    today = org_today(settings(app))
    _, since, _, _ = period_from({"period": "quarter"}, today)
    factory.person(email=OLIVIA, name="Olivia Owner")
    factory.person(email=SAM, name="Sam Second")
    resolved = datetime.combine(since + timedelta(days=10), time(15, 30), tzinfo=timezone.utc)
    _incident, retro = factory.resolved_incident(auth, resolved_at=resolved, severity="SEV2", title="Search index stale")
    items = {}
    for key, title, owner, days in (
        ("late", "Alert on indexer lag", OLIVIA, -20), ("later", "Runbook for index rebuilds", OLIVIA, -5),
        ("ahead", "Load test the indexer", OLIVIA, 10), ("sams", "Rotate the indexer's keys", SAM, -8),
        ("sams_ahead", "Dashboard for search freshness", SAM, 3),
    ):
        body = {"title": title, "owner": owner, "due_date": (today + timedelta(days=days)).isoformat()}
        response = client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", json=body, headers=auth)
        assert response.status_code == 201, response.get_json()
        items[key] = client.get(f"/api/v1/action-items/{response.get_json()['id']}", headers=auth).get_json()
        assert items[key]["sync_status"] == "synced" and items[key]["jira_key"], items[key]
    return {"today": today, "items": items}


def query_of(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def rows(page) -> list[int]:
    """The item ids the board lists, in order."""
    return [int(i) for i in page.locator("#action-items tbody tr[data-item]").evaluate_all(
        "rows => rows.map(r => r.dataset.item)")]


@pytest.mark.parametrize("size", VIEWPORTS)
def test_a_manager_chases_overdue_items_closes_them_and_reads_last_quarter(app, browser, live_server, client, auth, jira,
                                                                          last_quarter, size):
    axe = axe_source()
    today, items = last_quarter["today"], last_quarter["items"]
    late, later, sams = items["late"]["id"], items["later"]["id"], items["sams"]["id"]
    moved_to = today + timedelta(days=14)
    year = today.year
    problems: list[str] = []
    context, page = tab(browser, live_server, VIEWPORTS[size])
    try:
        # 1. The board, filtered by its form to Olivia's overdue items; the view is in the URL.
        page.click("nav[aria-label=Main] >> text=Action items")
        page.wait_for_url(f"{live_server}/action-items")
        filters = page.locator("#filters")
        if size == "phone":  # folded on a phone until opened
            assert filters.get_attribute("open") is None
            page.click("#filters > summary")
        expect(page.locator("#filter-owner")).to_be_visible()
        page.click("label[for=filter-overdue]")
        page.focus("#filter-owner")
        page.keyboard.type("Olivia Owner")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/action-items\?.*overdue=true"))
        assert query_of(page) == {"owner": ["Olivia Owner"], "overdue": ["true"]}, page.url  # only what was chosen
        expect(page.locator("#filters > summary")).to_have_text("Filter and sort (on: owner “Olivia Owner”, overdue only)")
        assert (filters.get_attribute("open") is None) == (size == "phone")  # the rows come first on a phone
        assert rows(page) == [late, later]  # overdue first: the latest first
        expect(page.locator("#board-count")).to_contain_text("1–2 of 2 items, overdue only")
        assert page.locator("#action-items tbody .cell-owner").all_inner_texts() == ["Olivia Owner"] * 2
        shared = page.url
        page.goto(shared)  # a shared link shows the same view, its form filled in
        assert rows(page) == [late, later]
        assert page.locator("#filter-owner").input_value() == "Olivia Owner"
        assert page.locator("#filter-overdue").is_checked()
        problems += check(page, "manager-board", size, axe)

        # 2. A due date moved in its row: saved in place, the history and Jira follow.
        row = page.locator(f"#item-{later}")
        # Rows carry a "Change" link, not forms: board.js builds them in place from the page's one template.
        expect(page.locator("#action-items form")).to_have_count(0)
        row.locator("a.row-change").click()
        expect(page.locator(f"#owner-{later}")).to_be_focused()
        expect(page.locator(f"#owner-{later}")).to_have_value("Olivia Owner")
        expect(page.locator(f"#status-{later}")).to_have_value("open")
        expect(page.locator(f"#due-{later}")).to_have_value((today - timedelta(days=5)).isoformat())
        page.fill(f"#due-{later}", moved_to.isoformat())
        problems += check(page, "manager-board-change", size, axe)
        row.locator("form.row-form[data-item] button[type=submit]").click()
        expect(row.locator(".row-said")).to_have_text("Saved. Jira gets the change in a moment.")
        expect(row.locator("details.row-edit > summary")).to_be_focused()  # closed, "Change" has the focus again
        expect(row.locator(f"#due-{later}")).to_be_hidden()
        page.keyboard.press("Enter")  # opened again by keyboard, then closed with Escape
        expect(page.locator(f"#due-{later}")).to_have_value(moved_to.isoformat())
        expect(page.locator(f"#owner-{later}")).to_be_focused()
        page.keyboard.press("Escape")
        expect(row.locator("details.row-edit > summary")).to_be_focused()
        expect(row.locator(f"#due-{later}")).to_be_hidden()
        expect(row.locator(".cell-due")).to_have_text(when_text(moved_to, zone=settings(app).zone, current_year=year))
        assert row.get_attribute("class") != "overdue"  # no longer late
        assert page.url == shared
        row.locator("a", has_text="Runbook for index rebuilds").click()
        page.wait_for_url(f"{live_server}/action-items/{later}")
        history = page.locator("#history tbody tr", has_text="Due date")
        expect(history).to_have_count(1)
        cells = history.locator("td").all_inner_texts()
        was = when_text(today - timedelta(days=5), zone=settings(app).zone, current_year=year)
        assert cells[2:4] == [was, when_text(moved_to, zone=settings(app).zone, current_year=year)], cells
        assert cells[4:6] == ["Web page", "Ada Admin"], cells
        problems += check(page, "manager-item", size, axe)
        assert jira.issue(items["later"]["jira_key"])["fields"]["duedate"] == moved_to.isoformat()
        assert client.get(f"/api/v1/action-items/{later}", headers=auth).get_json()["sync_status"] == "synced"

        # 3. Back on the board: the moved item is no longer overdue; both of Olivia's, overdue or not, closed at once.
        page.go_back()
        page.wait_for_url(shared)
        page.reload()
        assert rows(page) == [late]
        page.click("#board-count >> text=overdue or not")
        page.wait_for_url(re.compile(r".*owner=Olivia.*"))
        assert query_of(page) == {"owner": ["Olivia Owner"]}
        assert sorted(rows(page)) == sorted([late, later, items["ahead"]["id"]])
        view = query_of(page)
        page.check(f"#pick-{late}")
        page.locator(f"#pick-{later}").focus()
        page.keyboard.press("Space")
        expect(page.locator("#picked")).to_have_text("2 items selected")
        page.select_option("#bulk-status", "done")
        page.mouse.wheel(0, 2000)  # the bulk form stays in sight while the list scrolls
        expect(page.locator("#bulk button[type=submit]")).to_be_in_viewport()
        if size == "phone":  # where the list is longer than the screen: stuck to its top
            assert page.locator("#bulk").bounding_box()["y"] == 0
        page.screenshot(path=str(SCREENSHOTS / f"manager-board-bulk-scrolled-{size}.png"))
        page.evaluate("window.scrollTo(0, 0)")  # a full-page screenshot would draw the stuck form where the view was
        problems += check(page, "manager-board-bulk", size, axe)
        page.click("#bulk button[type=submit]")
        expect(page.locator("main > .flash").first).to_have_text("Set 2 items to Done.")
        assert query_of(page) == view
        status = dict(zip(rows(page), page.locator("#action-items tbody .cell-status").all_inner_texts()))
        assert status == {late: "Done", later: "Done", items["ahead"]["id"]: "Open"}, status
        for item in (late, later):
            answer = client.get(f"/api/v1/action-items/{item}", headers=auth).get_json()
            assert answer["status"] == "done" and answer["sync_status"] == "synced", answer
            assert jira.issue(answer["jira_key"])["fields"]["status"]["statusCategory"]["key"] == "done"

        # 4. Last quarter's insights: what was just done shows, and the CSV says what the page says.
        page.click("nav[aria-label=Main] >> text=Insights")
        page.click("text=Last quarter")
        page.wait_for_url("**/insights?period=quarter")
        shown = {key: page.inner_text(f"#{key}") for key in ("incidents", "created", "completed", "on-time", "overdue")}
        # Five items; two done, the moved one by its new due date; Sam's is the one still overdue.
        assert shown == {"incidents": "1", "created": "5", "completed": "2", "on-time": "1", "overdue": "1"}, shown
        problems += check(page, "manager-insights", size, axe)
        with page.expect_download() as download:
            page.click("#download")
        assert download.value.suggested_filename.endswith(".csv")
        figures = {(r["section"], r["group"], r["figure"]): r["value"]
                   for r in csv.DictReader(io.StringIO(download.value.path().read_text()))}
        assert {key: figures[("overall", "", figure)] for key, figure in (
            ("incidents", "incidents"), ("created", "action_items.created"), ("completed", "action_items.completed"),
            ("on-time", "action_items.completed_by_due_date"), ("overdue", "action_items.overdue"))} == shown
        by_severity = page.locator("#by-severity-numbers tbody tr", has_text="SEV2").locator("td").all_text_contents()
        assert by_severity == [figures[("severity", "SEV2", f)] for f in (
            "incidents", "retrospectives.held", "action_items.created", "action_items.overdue")]
        ageing = dict(zip(page.locator("#ageing-numbers tbody th").all_text_contents(),
                          page.locator("#ageing-numbers tbody td").all_text_contents()))
        assert ageing == {f"{bucket} days": figures[("overall", "", f"action_items.open_age_days.{bucket}")]
                          for bucket in ("0-7", "8-30", "31-90", "90+")}
        assert ageing["0-7 days"] == "3"  # the three still open, all made today
        assert page.problems == []
    finally:
        context.close()
    assert problems == []

    with app.app_context():
        stored = {i.id: i for i in get_session().scalars(select(ActionItem))}
        assert {i for i, item in stored.items() if item.status == "done"} == {late, later}
        assert stored[later].due_date == moved_to and stored[sams].status == "open"
        assert stored[sams].due_date == date.fromisoformat(items["sams"]["due_date"])
