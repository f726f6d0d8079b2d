"""Insights in a real browser: a manager picks last quarter, the charts draw (across incidents too), the CSV downloads."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from app.metrics.pages import period_from
from tests.e2e.test_page_standards import VIEWPORTS, axe_source, check


def test_a_manager_reads_last_quarter_and_downloads_the_csv(browser, live_server, client, auth, factory):
    _, since, _, _ = period_from({"period": "quarter"}, date.today())
    resolved = datetime.combine(since + timedelta(days=10), time(15, 30), tzinfo=timezone.utc)
    assert client.post("/api/v1/services", json={"name": "checkout-api", "team": "payments"}, headers=auth).status_code == 201
    incident = factory.incident(auth, started_at=(resolved - timedelta(hours=2)).isoformat(), services=["checkout-api"])
    client.patch(f"/api/v1/incidents/{incident['id']}", json={"status": "resolved", "resolved_at": resolved.isoformat()}, headers=auth)
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()
    named = client.post(f"/api/v1/retrospectives/{retro['id']}/factors", json={"factor": "change.deploy", "note": "bad rollout"},
                        headers=auth)
    assert named.status_code == 201, named.get_json()
    axe = axe_source()
    for size in VIEWPORTS:
        context = browser.new_context(viewport=VIEWPORTS[size], accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        console: list[str] = []
        tab.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
        try:
            tab.goto(f"{live_server}/login")
            tab.fill("#email", "admin@example.com")
            tab.fill("#password", "correct horse battery")
            tab.click("button[type=submit]")
            tab.wait_for_url(f"{live_server}/")
            tab.click("nav[aria-label=Main] >> text=Insights")
            tab.click("text=Last quarter")
            tab.wait_for_url("**/insights?period=quarter")
            assert tab.inner_text("#incidents") == "1"
            sizes = tab.evaluate("[...document.querySelectorAll('canvas')].map(c => [c.width, c.height])")
            # 4 over time and severity; across incidents: by service (incidents, hours), by factor (incidents,
            # hours), by team (retros, follow-ups, ageing).
            assert len(sizes) == 11 and all(w > 0 and h > 0 for w, h in sizes), sizes
            assert tab.inner_text("#hours-lost") == "2 hours"
            assert check(tab, "insights-quarter", size, axe) == []
            with tab.expect_download() as download:
                tab.click("#download")
            assert download.value.suggested_filename.endswith(".csv")
            text = open(download.value.path()).read()
            assert "overall,,incidents,1" in text and "service,checkout-api,hours_lost,2.0" in text
        finally:
            context.close()
        assert console == []
