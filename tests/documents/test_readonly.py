"""A completed or published retro's document is read-only: the API refuses edits, the pages offer none."""

from __future__ import annotations

import pytest

from app.db import get_session
from app.retros.models import Retrospective, RetroStatus
from tests.documents.conftest import document, section
from tests.web import Page, sign_in


def set_status(app, retro_id: int, status: RetroStatus) -> None:
    with app.app_context():
        session = get_session()
        session.get(Retrospective, retro_id).status = status
        session.commit()


@pytest.mark.parametrize("status", [RetroStatus.COMPLETED, RetroStatus.PUBLISHED])
def test_the_api_refuses_edits_once_the_retro_is_complete(app, resolved, client, auth, status):
    _incident, retro = resolved()
    url = f"/api/v1/retrospectives/{retro['id']}/sections/went_well"
    assert client.put(url, headers=auth, json={"body": "Before", "version": 1}).status_code == 200
    set_status(app, retro["id"], status)
    refused = client.put(url, headers=auth, json={"body": "After", "version": 2})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "retro_completed"
    template = client.put(f"/api/v1/retrospectives/{retro['id']}/document/template", headers=auth,
                          json={"template": "security"})
    assert template.status_code == 409 and template.get_json()["error"]["code"] == "retro_completed"
    doc = document(client, retro["id"], auth)
    assert section(doc, "went_well")["body"] == "Before" and section(doc, "went_well")["version"] == 2
    # Reading, previewing and exporting still work.
    assert client.post(f"/api/v1/retrospectives/{retro['id']}/preview", headers=auth, json={"body": "x"}).status_code == 200
    assert client.get(f"/api/v1/retrospectives/{retro['id']}/export?format=docx", headers=auth).status_code == 200
    # Reopened (back to scheduled), the document takes edits again.
    set_status(app, retro["id"], RetroStatus.SCHEDULED)
    assert client.put(url, headers=auth, json={"body": "After", "version": 2}).status_code == 200


@pytest.mark.parametrize("path", ["document", "facilitate"])
def test_the_pages_render_the_document_read_only_with_a_notice(app, admin, factory, path):
    _incident, retro = factory.resolved_incident(admin[1])
    web = sign_in(app, "admin@example.com")
    url = f"/retrospectives/{retro['id']}/{path}"
    open_page = Page.of(web.get(url))
    assert "Save" in open_page.texts("button") and open_page.find_all("textarea", name="body")
    set_status(app, retro["id"], RetroStatus.COMPLETED)
    page = Page.of(web.get(url))
    assert "Save" not in page.texts("button")
    assert not page.find_all("textarea", name="body") and not page.find_all(role="tab")
    # One notice that the retro is complete (the meeting page says more: who completed it, and a way to reopen).
    if path == "document":
        assert page.texts("p", class_="notice locked") == ["This retro is complete; reopen it to edit."]
    else:
        assert page.find_all("p", class_="notice locked") == []
        assert "Its sections and the action-item form are read-only" in page.by_id("completed-notice").text
    # The text is still there to read: the summary's facts table, rendered.
    assert any(cell == "Severity" for cell in page.texts("td"))
    assert not page.find_all("form", class_="template-choice space-above")
