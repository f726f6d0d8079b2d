"""The meeting's own controls in a real browser: highlights, an event added into its phase, the sync
state refreshed while the page is open, and the page at 390 px."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.actions.models import ActionItem
from app.db import get_session
from app.retros.highlights import highlighted_event_ids
from app.retros.models import Retrospective

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def meeting(app, client, factory, admin):
    """A retro resolved an hour ago, its timeline with an alert and a rollback; (retro id, event ids)."""
    factory.user(email="rita@example.com", name="Rita Responder")
    resolved = datetime.now(UTC) - timedelta(hours=1)
    incident, retro = factory.resolved_incident(admin[1], commander="rita@example.com", resolved_at=resolved)
    added = client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=admin[1], json=[
        {"occurred_at": (resolved - timedelta(minutes=90)).isoformat(), "kind": "detection", "text": "Alert fired"},
        {"occurred_at": (resolved - timedelta(minutes=30)).isoformat(), "kind": "action", "text": "Rolled back"},
    ])
    return retro["id"], [e["id"] for e in added.get_json()["items"]]


def test_highlight_add_an_event_and_see_the_sync_state_change(app, signed_in, live_server, meeting):
    retro_id, (_alert, rollback) = meeting
    page = signed_in
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.clock.install()
    page.goto(f"{live_server}/retrospectives/{retro_id}/facilitate")

    toggle = page.locator(f"#timeline-phases tr[data-id='{rollback}'] button.highlight")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    with app.app_context():
        retro = get_session().get(Retrospective, retro_id)
        assert highlighted_event_ids(get_session(), retro=retro) == {rollback}

    page.fill("#event-time", "")
    page.click("#new-event button[type=submit]")
    expect(page.locator("#event-time-error")).to_have_text("Give the time it happened.")
    page.fill("#event-time", page.locator("#phase-response tr.event .time").first.inner_text())
    page.fill("#event-text", "Paged the database team")
    page.click("#new-event button[type=submit]")
    expect(page.locator("#event-messages .flash")).to_contain_text("Added the event at")
    expect(page.locator("#timeline-phases tr.event")).to_have_count(3)
    assert "Paged the database team" in page.locator("#timeline-phases").inner_text()

    page.fill("#item-title", "Alert on replica lag")
    page.select_option("#item-owner", "rita@example.com")
    page.fill("#item-due", (datetime.now(UTC).date() + timedelta(days=7)).isoformat())
    page.click("#new-item button[type=submit]")
    row = page.locator("#items tr[data-id]").first
    row.wait_for()
    with app.app_context():
        session = get_session()
        item = session.query(ActionItem).filter_by(retrospective_id=retro_id).one()
        item.sync_status, item.jira_key = "failed", None
        session.commit()
    page.clock.run_for(11_000)  # the next poll
    expect(row.locator("td.sync")).to_have_text("Jira sync failed Retry")
    assert errors == []


def test_the_meeting_page_fits_a_phone(app, browser, live_server, meeting):
    retro_id, _events = meeting
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login")
        page.fill("#email", "admin@example.com")
        page.fill("#password", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/retrospectives/{retro_id}/facilitate")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click(".meeting-nav a[href='#wrap-up']")
        expect(page.locator("#wrap-up button[type=submit]")).to_be_in_viewport()
        # The agenda bar stays on screen as the page scrolls.
        expect(page.locator(".meeting-nav")).to_be_in_viewport()
        page.screenshot(path="/tmp/facilitate-390.png", full_page=True)
    finally:
        context.close()


def test_a_completed_retro_reads_without_errors_and_reopens(app, client, admin, signed_in, live_server, meeting):
    retro_id, _events = meeting
    held = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert client.patch(f"/api/v1/retrospectives/{retro_id}", headers=admin[1],
                        json={"scheduled_for": held, "status": "completed"}).status_code == 200
    page = signed_in
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/retrospectives/{retro_id}/facilitate")
    expect(page.locator("#completed-notice")).to_be_visible()
    assert page.locator("#new-item").count() == 0 and page.locator("button.highlight").count() == 0
    page.fill("#reopen-reason", "We missed a follow-up.")
    page.click("#wrap-up form.reopen button[type=submit]")
    expect(page.locator("#retro-history")).to_contain_text("Reopened by Ada Admin")
    expect(page.locator("#new-item button[type=submit]")).to_be_enabled()
    assert errors == []
