"""Running a retro from the facilitation page in a real browser: sections saved with version checks,
action items captured live through the API, refusals shown where the facilitator looks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.actions.models import ActionItem
from app.core.dates import org_today as today
from app.db import get_session
from app.demo import load_demo
from app.documents.models import DocumentSection
from app.retros.models import Retrospective

expect = pytest.importorskip("playwright.sync_api").expect
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture
def retro_id(app, factory, admin):
    """A resolved incident with a commander who may own items; its retro's id."""
    factory.user(email="rita@example.com", name="Rita Responder")
    _incident, retro = factory.resolved_incident(admin[1], commander="rita@example.com", title="Search index went stale")
    return retro["id"]


def sign_in(page, live_server, email="admin@example.com"):
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")


def section_body(app, retro_id: int, key: str) -> tuple[int, str]:
    with app.app_context():
        section = get_session().scalar(select(DocumentSection).where(
            DocumentSection.retrospective_id == retro_id, DocumentSection.key == key))
        return section.version, section.body


def items(app, retro_id: int) -> list[tuple[str, str, bool]]:
    with app.app_context():
        return [(i.title, i.status, i.oversized) for i in get_session().scalars(
            select(ActionItem).where(ActionItem.retrospective_id == retro_id).order_by(ActionItem.id))]


def no_reload_marker(page):
    """Set a value that only survives as long as the page is not reloaded."""
    page.evaluate("window.__stillHere = true")
    return lambda: page.evaluate("window.__stillHere === true")


def test_the_demo_meeting_page_reads_in_meeting_order(app, signed_in, live_server):
    with app.app_context():
        session = get_session()
        incident, _ = load_demo(session, settings=app.extensions["hindsight.settings"])
        session.commit()
        incident_id = incident.id
        retro_id = session.scalar(select(Retrospective.id).where(Retrospective.incident_id == incident_id))
    page = signed_in
    page.goto(f"{live_server}/incidents/{incident_id}")
    page.click("text=Facilitate the meeting")
    page.wait_for_url(f"{live_server}/retrospectives/{retro_id}/facilitate")
    headings = page.locator("details.agenda > summary h2").all_inner_texts()
    assert [h.split("(")[0].strip() for h in headings] == [
        "1Ground rules", "2Timeline review", "3Discussion: the document's sections", "4Action items", "5Wrap-up"]
    events = page.locator("#timeline-phases tr.event").count()
    assert events >= 40 and f"({events} events)" in headings[1] and headings[3].endswith("(5)")
    assert page.locator("ol.rules li").first.inner_text().startswith("We are here to learn")
    assert "Alert: checkout-api p99 latency" in page.locator("#timeline-phases tr.event").first.inner_text()
    assert page.locator("#items tr[data-id]").count() == 5
    # The demo's status-page item was due yesterday.
    assert page.locator("#items tr[data-id]:has-text('overdue')").all_inner_texts()[0].startswith("Status page template")
    assert "Jordan Lee" in page.locator("#retro-facts").inner_text()
    page.screenshot(path="/tmp/facilitate.png", full_page=True)
    page.screenshot(path="/tmp/facilitate-top.png")


def test_a_section_is_saved_and_a_stale_save_offers_the_current_text(app, browser, signed_in, live_server, retro_id):
    url = f"{live_server}/retrospectives/{retro_id}/facilitate"
    mine = signed_in
    mine.goto(url)
    theirs_context = browser.new_context()
    try:
        theirs = theirs_context.new_page()
        theirs.set_default_timeout(10_000)
        sign_in(theirs, live_server)
        theirs.goto(url)  # both tabs now edit summary at version 1
        for tab in (mine, theirs):  # the discussion step starts folded: the agenda bar opens it
            tab.click(".meeting-nav a[href='#document']")

        editor = mine.locator("#section-summary")
        editor.locator("[data-tab=write]").click()  # a section with text opens in its preview
        editor.locator("textarea").fill("Search results were up to 6 hours old.")
        editor.locator("button.save").click()
        expect(editor.locator(".status")).to_have_text("Saved, version 2")
        assert section_body(app, retro_id, "summary") == (2, "Search results were up to 6 hours old.")

        stale = theirs.locator("#section-summary")
        stale.locator("[data-tab=write]").click()
        stale.locator("textarea").fill("The indexer stopped after a schema change.")
        stale.locator("button.save").click()
        conflict = stale.locator(".conflict")
        conflict.wait_for(state="visible")
        assert "Ada Admin saved this section while you were editing it (it is at version 2 now)." \
            in conflict.inner_text()
        assert stale.locator(".meta").inner_text().startswith("version 2, saved by Ada Admin")
        assert conflict.locator("textarea.theirs").input_value() == "Search results were up to 6 hours old."
        # What they typed is still there, and nothing of it was lost on the server either.
        assert stale.locator("textarea[name=body]").input_value() == "The indexer stopped after a schema change."
        assert section_body(app, retro_id, "summary")[0] == 2
        stale.screenshot(path="/tmp/facilitate-conflict.png")

        conflict.locator("text=Add their text below mine").click()
        stale.locator("button.save").click()
        expect(stale.locator(".status")).to_have_text("Saved, version 3")
        assert section_body(app, retro_id, "summary") == (
            3, "The indexer stopped after a schema change.\n\nSearch results were up to 6 hours old.")
    finally:
        theirs_context.close()


def test_action_items_are_captured_live_with_errors_at_their_fields(app, signed_in, live_server, retro_id):
    page = signed_in
    page.goto(f"{live_server}/retrospectives/{retro_id}/facilitate")
    still_here = no_reload_marker(page)
    in_a_week = (today(app.extensions["hindsight.settings"]) + timedelta(days=7)).isoformat()

    # No owner: the browser refuses to send the form; nothing is added.
    page.fill("#item-title", "Alert on indexer lag")
    page.fill("#item-due", in_a_week)
    page.click("#new-item button[type=submit]")
    assert page.locator("#item-owner").evaluate("select => select.validity.valueMissing")
    assert page.evaluate("document.activeElement.id") == "item-owner"
    # Sent anyway (a browser that does not check): the server's refusal, in words, at the field.
    page.locator("#new-item").evaluate("form => form.noValidate = true")
    page.click("#new-item button[type=submit]")
    owner_error = page.locator('[data-error-for="owner"]')
    expect(owner_error).to_have_text("Choose an owner.")
    assert page.locator("#item-messages .error").inner_text() == "The action item was not added: see the marked fields."
    assert page.locator('[data-error-for="due_date"]').inner_text() == ""
    assert items(app, retro_id) == []
    page.locator("#new-item").evaluate("form => form.noValidate = false")

    page.select_option("#item-owner", "rita@example.com")
    page.select_option("#item-priority", "high")
    page.click("#new-item button[type=submit]")
    row = page.locator("#items tr[data-id]")
    row.wait_for()
    assert row.locator(".title a").inner_text() == "Alert on indexer lag"
    assert row.locator(".owner").inner_text() == "Rita Responder"
    assert row.locator(".priority").inner_text() == "High"
    assert owner_error.inner_text() == ""
    # Every field is cleared: the next item cannot silently get this one's owner or priority.
    assert page.locator("#item-title").input_value() == ""
    assert page.locator("#item-owner").input_value() == ""
    assert page.locator("#item-owner option:checked").inner_text() == "Choose an owner"
    assert page.locator("#item-due").input_value() == ""
    assert page.locator("#item-priority").input_value() == "medium"
    assert page.evaluate("document.activeElement.id") == "item-title"
    page.fill("#item-title", "Page the search team on lag")
    page.fill("#item-due", in_a_week)
    page.click("#new-item button[type=submit]")
    assert page.locator("#item-owner").evaluate("select => select.validity.valueMissing")
    assert len(items(app, retro_id)) == 1
    page.fill("#item-title", "")
    page.fill("#item-due", "")
    assert page.locator("#item-count").inner_text() == "(1)"
    assert items(app, retro_id) == [("Alert on indexer lag", "open", False)]

    row.locator("select.item-status").select_option("in_progress")
    expect(page.locator("#item-messages .flash")).to_have_text("“Alert on indexer lag” is now in progress.")
    assert items(app, retro_id) == [("Alert on indexer lag", "in_progress", False)]
    assert still_here()


def test_an_oversized_item_is_offered_a_split(app, signed_in, live_server, retro_id):
    page = signed_in
    page.goto(f"{live_server}/retrospectives/{retro_id}/facilitate")
    still_here = no_reload_marker(page)
    day = today(app.extensions["hindsight.settings"])

    page.fill("#item-title", "Rebuild the indexer")
    page.select_option("#item-owner", "rita@example.com")
    page.fill("#item-due", (day + timedelta(weeks=10)).isoformat())
    page.click("#new-item button[type=submit]")
    row = page.locator("#items tr[data-id]").first
    row.wait_for()
    assert "oversized" in row.locator(".title").inner_text()
    assert "more than 4 weeks away" in page.locator("#item-messages .warning").inner_text()
    # The success in the success style, what needs attention in the warning style.
    assert page.locator("#item-messages .flash").inner_text() == "Added “Rebuild the indexer” for Rita Responder."

    row.locator("text=Split into smaller items").click()
    parts = row.locator("form.split .part")
    parts.nth(0).locator("input[name=due_date]").fill((day + timedelta(weeks=2)).isoformat())
    parts.nth(1).locator("input[name=title]").fill("Move the indexer to the new schema")
    parts.nth(1).locator("input[name=due_date]").fill((day + timedelta(weeks=4)).isoformat())
    page.locator("#action-items-card").screenshot(path="/tmp/facilitate-items.png")
    page.locator("#items").screenshot(path="/tmp/facilitate-split.png")
    row.locator("form.split button[type=submit]").click()
    page.locator("#items tr[data-id]").nth(2).wait_for()
    assert page.locator("#item-messages > div").all_inner_texts() == ["Split into 2 items."]
    assert page.locator("#item-messages .flash").count() == 1

    assert page.locator("#items tr[data-id] .title a").all_inner_texts() == [
        "Rebuild the indexer", "Rebuild the indexer (part 1)", "Move the indexer to the new schema"]
    assert row.locator("select.item-status").input_value() == "wont_do"
    assert row.locator("form.split").count() == 0
    assert items(app, retro_id) == [
        ("Rebuild the indexer", "wont_do", True),
        ("Rebuild the indexer (part 1)", "open", False),
        ("Move the indexer to the new schema", "open", False),
    ]
    assert still_here()


def test_schedule_refusal_then_override_in_the_browser(app, signed_in, live_server, retro_id):
    page = signed_in
    page.goto(f"{live_server}/retrospectives/{retro_id}/facilitate")
    page.click("text=Schedule, facilitator and participants")
    page.select_option("#facilitator", "")  # nobody yet: Ada, suggested, would be allowed in as facilitator
    page.select_option("#add_participant", "admin@example.com")
    page.click("form.schedule button[type=submit]")
    assert page.locator("#refusal").inner_text().startswith("Ada Admin held no role in the incident.")
    assert page.locator("#participants-error").inner_text() == "Held no role in the incident: Ada Admin."
    page.fill("#spectator_reason", "Ada runs the search platform.")
    page.click("form.schedule button[type=submit]")
    assert page.locator(".flash").first.inner_text() == "The retrospective is updated."
    assert "no invitations were sent" in page.locator(".flash.warning").inner_text()
    assert "Ada runs the search platform." in page.locator("table").inner_text()


def test_contributing_factors_are_named_by_keyboard_on_a_phone(app, page, live_server, retro_id):
    """At 390 px: open the discussion, pick a factor and write its note by keyboard alone, submit with Enter;
    it is listed under the document's Contributing factors section, nothing scrolls sideways."""
    from app.retros.models import RetroFactor

    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server)
    page.goto(f"{live_server}/retrospectives/{retro_id}/facilitate")
    page.locator("#document > summary").focus()
    page.keyboard.press("Enter")  # the discussion step opens
    expect(page.locator("#factor-key")).to_be_visible()
    page.locator("#factor-key").focus()
    page.keyboard.press("ArrowDown")  # the first choice: a whole category
    page.keyboard.press("ArrowDown")  # its first kind
    chosen = page.locator("#factor-key").input_value()
    assert "." in chosen
    page.keyboard.press("Tab")
    page.keyboard.type("Rolled out to every region at once")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/facilitate?open=factors#factors")
    listed = page.locator(f"#factor-list li[data-factor='{chosen}']")
    expect(listed).to_contain_text("Rolled out to every region at once")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#factors").screenshot(path=str(SCREENSHOTS / "factors-phone.png"))
    with app.app_context():
        assert [(f.factor_key, f.note) for f in get_session().scalars(
            select(RetroFactor).where(RetroFactor.retrospective_id == retro_id))] == [
            (chosen, "Rolled out to every region at once")]
    listed.get_by_role("button", name="Remove").press("Enter")
    page.wait_for_url(f"**/facilitate?open=factors#factors")
    expect(page.locator("#factor-list")).to_contain_text("None named yet.")
