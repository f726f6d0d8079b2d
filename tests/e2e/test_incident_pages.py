"""Sign in, find the incident, read its timeline and retro summary, as a person would."""

import re

from app.db import get_session
from app.demo import load_demo


def test_demo_incident_reads_well_in_a_browser(app, signed_in, live_server, tmp_path):
    with app.app_context():
        session = get_session()
        incident, _ = load_demo(session, settings=app.extensions["hindsight.settings"])
        session.commit()
    page = signed_in
    page.reload()
    page.click("text=Checkout outage: orders database failover stalled")
    page.wait_for_url(re.compile(r".*/incidents/\d+$"))
    assert page.locator("h1").inner_text().startswith("Checkout outage")
    rows = page.locator("#timeline tr.event")
    assert rows.count() >= 40
    assert "Alert: checkout-api p99 latency" in rows.first.inner_text()
    # A heading a day, then times only.
    assert page.locator("#timeline tr.day").count() >= 1
    assert re.fullmatch(r"\d\d:\d\d", rows.first.locator("td.when").inner_text().splitlines()[0])
    team = page.locator("table").first.inner_text()
    assert "Maya Chen" in team and "handed to Maya Chen" in team
    retro_card = page.locator("h2:has-text('Retrospective') + .card").inner_text()
    assert "Deadline" in retro_card and "Pending" in retro_card
    page.screenshot(path="/tmp/hindsight-incident.png", full_page=True)


def test_signing_out_ends_the_session(signed_in, live_server):
    page = signed_in
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")


def test_wrong_password_is_said_plainly(page, live_server, admin):
    page.goto(f"{live_server}/login")
    page.fill("#email", "admin@example.com")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert "Unknown email or wrong password." in page.locator("[role=alert]").inner_text()
