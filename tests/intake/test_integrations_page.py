"""The Integrations admin page says whether each intake webhook is on and when it last heard from it."""

from datetime import UTC, datetime, timedelta

from tests.fakes import paging
from tests.web import Page, sign_in


def _row(page: Page, name: str) -> str:
    rows = [text for text in page.texts("tr") if text.startswith(name)]
    assert len(rows) == 1, page.texts("tr")
    return rows[0]


def test_the_page_shows_each_sender_on_and_its_last_event(app, client, admin, send):
    web = sign_in(app, "admin@example.com")
    before = Page.of(web.get("/admin/integrations"))
    assert "PagerDuty (incidents in)" in before.text and "incident.io (incidents in)" in before.text
    at = datetime.now(UTC) - timedelta(minutes=5)
    event = paging.pd_event("incident.triggered", occurred_at=at, data=paging.pd_incident(created_at=at))
    assert send.pagerduty(event).status_code == 200
    after = Page.of(web.get("/admin/integrations"))
    assert _row(after, "PagerDuty (incidents in)") != _row(before, "PagerDuty (incidents in)")
    assert _row(after, "Rootly (incidents in)") == _row(before, "Rootly (incidents in)")
