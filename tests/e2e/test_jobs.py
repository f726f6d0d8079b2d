"""The two jobs of issue 10, each end to end in the browser alone, as the people who do them would:
the incident commander on a phone (declare, team, timeline, resolve, the booked retro at once), and
the facilitator on a laptop (schedule by name, the invitation, the meeting by its agenda, complete)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.actions.models import ActionItem
from app.core.dates import org_today
from app.db import get_session
from app.documents.models import DocumentSection
from app.incidents.models import Incident, TimelineEvent
from app.retros.models import Retrospective, RetroStatus

expect = pytest.importorskip("playwright.sync_api").expect

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}


@pytest.fixture
def people(factory):
    factory.user(email="rita@example.com", name="Rita Responder")
    factory.user(email="sam@example.com", name="Sam Scribe")
    factory.user(email="fran@example.com", name="Fran Facilitator")


def tab(browser, live_server, viewport, email="admin@example.com"):
    """A signed-in tab at this size, collecting console errors and sideways scrolling as it goes."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.problems = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    return context, page


def fits(page) -> None:
    """The page open in `page` does not scroll sideways."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} scrolls sideways ({width} > {inner})"


def test_an_incident_commander_declares_runs_and_resolves_an_incident_on_a_phone(app, browser, live_server, admin, people):
    context, page = tab(browser, live_server, PHONE)
    try:
        page.click("text=Declare an incident")
        page.wait_for_url(f"{live_server}/incidents/new")
        fits(page)
        page.fill("#title", "Search results stale for EU customers")
        page.check("input[name=severity][value=SEV1]")
        page.select_option("#commander", "rita@example.com")
        page.click("form#declare button[type=submit]")
        page.wait_for_url(re.compile(r".*/incidents/\d+$"))
        incident_id = int(page.url.rsplit("/", 1)[1])
        assert page.locator("h1").inner_text().startswith("Search results stale for EU customers")
        fits(page)

        # A scribe joins.
        page.click("summary:has-text('Add a role or hand one off')")
        page.select_option("#role-email", "sam@example.com")
        page.select_option("#role-role", "scribe")
        page.click("#add-role button[type=submit]")
        expect(page.locator("main > .flash").first).to_have_text("Sam Scribe is now Scribe.")
        assert "Sam Scribe" in page.locator("#team").inner_text()

        # What happened, in their words.
        page.click("summary:has-text('Add a timeline event')")
        page.fill("#event-text", "Indexer restarted; results catching up.")
        page.click("#add-event button[type=submit]")
        expect(page.locator("main > .flash").first).to_contain_text("is on the timeline")
        assert "Indexer restarted; results catching up." in page.locator("#timeline").inner_text()

        # Resolved now: the retro is booked and shown at once, with its deadline and what is left.
        page.select_option("#status-status", "resolved")
        page.click("#status button[type=submit]")
        expect(page.locator("main > .flash").first).to_contain_text("its retrospective is due by")
        card = page.locator("#retro").inner_text()
        assert "Deadline" in card and re.search(r"\(due in \d+ days?( \d+ hours?)?\)", card), card
        assert not re.search(r"\d{4}-\d\d-\d\dT", card)
        fits(page)
        page.screenshot(path=str(_shots() / "job-commander-phone.png"), full_page=True)
        assert page.problems == []
    finally:
        context.close()

    with app.app_context():
        session = get_session()
        incident = session.get(Incident, incident_id)
        assert incident.severity == "SEV1" and incident.resolved_at is not None
        assert incident.commander.email == "rita@example.com"
        assert [e.text for e in session.scalars(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id))
                if "Indexer" in e.text] == ["Indexer restarted; results catching up."]
        assert incident.retrospective.status == RetroStatus.PENDING


def test_a_facilitator_schedules_runs_and_completes_the_retro(app, browser, live_server, people, factory, admin):
    _incident, retro = factory.resolved_incident(admin[1], commander="rita@example.com", title="Checkout timeouts")
    retro_id = retro["id"]
    context, page = tab(browser, live_server, LAPTOP)
    try:
        # Schedule: the suggested slot is filled in, people are picked by name.
        page.goto(f"{live_server}/retrospectives/{retro_id}/schedule")
        slot = page.locator("#scheduled_for").input_value()
        assert slot, "the suggested slot is not filled in"
        page.select_option("#facilitator", "fran@example.com")
        assert page.locator("#facilitator option:checked").inner_text().startswith("Fran Facilitator")
        # The meeting is held before the meeting page is used to complete it: book it an hour ago.
        with app.app_context():
            zone = app.extensions["hindsight.settings"].zone
        from datetime import datetime
        held = (datetime.now(zone) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        page.fill("#scheduled_for", held)
        page.click("form.schedule button[type=submit]")
        expect(page.locator("main > .flash").first).to_have_text("The retrospective is updated.")
        invite = page.locator("#invite a, a#invite").first
        with page.expect_download() as download:
            invite.click()
        ics = download.value.path().read_text()
        assert "BEGIN:VEVENT" in ics and "fran@example.com" in ics.lower()
        fits(page)

        # The meeting, by its agenda.
        page.goto(f"{live_server}/retrospectives/{retro_id}/facilitate")
        headings = page.locator("details.agenda > summary h2").all_inner_texts()
        assert [h.split("(")[0].strip()[1:] for h in headings][:2] == ["Ground rules", "Timeline review"]
        # A section written with its question as a placeholder, previewed, saved.
        page.click(".meeting-nav a[href='#document']")
        editor = page.locator("#section-went_well")
        editor.locator("[data-tab=write]").click()
        textarea = editor.locator("textarea")
        assert textarea.input_value() == "" and textarea.get_attribute("placeholder")
        textarea.fill("The **rollback** took four minutes.")
        editor.locator("[data-tab=preview]").click()
        expect(editor.locator(".pane.preview strong")).to_have_text("rollback")
        editor.locator("button.save").click()
        expect(editor.locator(".status")).to_have_text("Saved, version 2")

        # An action item captured live: the form is cleared for the next one.
        due = (org_today(app.extensions["hindsight.settings"]) + timedelta(days=14)).isoformat()
        page.fill("#item-title", "Alert on checkout p99 above 2 s")
        page.select_option("#item-owner", "rita@example.com")
        page.fill("#item-due", due)
        page.click("#new-item button[type=submit]")
        page.locator("#items tr[data-id]").first.wait_for()
        assert page.locator("#item-title").input_value() == "" and page.locator("#item-owner").input_value() == ""

        # Wrap-up: complete; the page is then read-only until reopened.
        page.click(".meeting-nav a[href='#wrap-up']")
        page.click("button:has-text('Complete the retro')")
        expect(page.locator("main > .flash").first).to_contain_text("The retro is completed.")
        assert page.locator("#new-item").count() == 0 and page.locator("button.save").count() == 0
        page.screenshot(path=str(_shots() / "job-facilitator-laptop.png"), full_page=True)
        assert page.problems == []
    finally:
        context.close()

    with app.app_context():
        session = get_session()
        stored = session.get(Retrospective, retro_id)
        assert stored.status == RetroStatus.COMPLETED and stored.facilitator.email == "fran@example.com"
        went_well = session.scalar(select(DocumentSection).where(
            DocumentSection.retrospective_id == retro_id, DocumentSection.key == "went_well"))
        assert went_well.body == "The **rollback** took four minutes." and went_well.prompt
        assert [i.title for i in session.scalars(select(ActionItem).where(ActionItem.retrospective_id == retro_id))] \
            == ["Alert on checkout p99 above 2 s"]


def _shots():
    from pathlib import Path

    folder = Path(__file__).parent / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder
