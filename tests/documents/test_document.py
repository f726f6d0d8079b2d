"""The document: generated at booking, prefilled, edited by section with optimistic locking, live sections."""

from datetime import date, datetime, timedelta, timezone

import pytest

from tests.documents.conftest import add_action_item, at, document, section
from tests.web import Page

STANDARD = ["ground_rules", "summary", "impact", "timeline", "response_team", "contributing_factors",
            "went_well", "was_hard", "action_items", "related", "lessons"]


@pytest.fixture
def settings_overrides():
    return {"retro": {"ground_rules": ["Blameless, always.", "One | voice at a time."]}}


def test_booking_generates_the_prefilled_standard_document(factory, auth, client):
    commander = factory.person(name="Dev Patel", email="dev@example.com")
    scribe = factory.person(name="Maya Chen", email="maya@example.com")
    started = datetime.now(timezone.utc) - timedelta(hours=3)
    incident = factory.incident(
        auth, title="Orders DB failover", severity="SEV1", commander=commander.email,
        started_at=started.isoformat(), detected_at=(started + timedelta(minutes=4)).isoformat(),
        description="The primary ran out of connections.",
        links=[{"title": "Grafana (orders)", "url": "https://grafana.example.com/d/orders?from=(now-6h)"}],
    )
    client.post(f"/api/v1/incidents/{incident['id']}/roles", headers=auth,
                json={"email": scribe.email, "role": "commander", "started_at": (started + timedelta(minutes=30)).isoformat()})
    client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=auth,
                json={"occurred_at": (started + timedelta(minutes=4)).isoformat(), "text": "Pager fired", "author": "PagerDuty"})
    resolved_at = started + timedelta(hours=2, minutes=5)
    client.patch(f"/api/v1/incidents/{incident['id']}", headers=auth,
                 json={"status": "resolved", "resolved_at": resolved_at.isoformat()})
    retro = client.get(f"/api/v1/incidents/{incident['id']}/retrospective", headers=auth).get_json()

    doc = document(client, retro["id"], auth)
    assert doc["template"] == "standard" and doc["retrospective_id"] == retro["id"]
    assert [s["key"] for s in doc["sections"]] == STANDARD
    assert all(s["version"] == 1 for s in doc["sections"])
    assert [s["key"] for s in doc["sections"] if s["live"]] == ["timeline", "action_items", "related"]
    assert doc["title"] == "Retrospective: Orders DB failover"

    summary = section(doc, "summary")["body"]
    for fact in ("| Severity | SEV1 |", "Orders DB failover", "| Commander | Maya Chen (maya\\@example\\.com) |",
                 f"| Started | {started:%Y-%m-%d %H:%M} UTC |", f"| Resolved | {resolved_at:%Y-%m-%d %H:%M} UTC |",
                 "| Duration | 2 h 5 min |", "| Time to detect | 4 min |", "The primary ran out of connections.",
                 "- [Grafana \\(orders\\)](<https://grafana.example.com/d/orders?from=(now-6h)>)"):
        assert fact in summary, fact
    team = section(doc, "response_team")["body"]
    assert "| Dev Patel (dev\\@example\\.com) | Incident commander |" in team
    assert ", handed to Maya Chen |" in team
    assert "| Maya Chen (maya\\@example\\.com) | Incident commander |" in team
    rules = section(doc, "ground_rules")["body"]
    assert rules == "1. Blameless\\, always\\.\n2. One \\| voice at a time\\."

    markdown = doc["markdown"]
    assert markdown.startswith("# Retrospective: Orders DB failover\n\n## Ground rules\n\n1. Blameless")
    assert "| When | Kind | Event | Who |" in markdown and "| note | Pager fired | PagerDuty |" in markdown
    assert "_No action items yet._" in markdown


@pytest.mark.parametrize("severity, template, keys", [
    ("SEV2", "lightweight", ["ground_rules", "summary", "timeline", "response_team", "learnings", "action_items", "related"]),
    ("SEV0", "standard", STANDARD),
])
def test_template_follows_severity(resolved, client, auth, severity, template, keys):
    _incident, retro = resolved(severity=severity)
    doc = document(client, retro["id"], auth)
    assert doc["template"] == template
    assert [s["key"] for s in doc["sections"]] == keys


@pytest.mark.parametrize("settings_overrides", [{"documents": {"template_by_severity": {"SEV1": "security"}}}])
def test_template_by_severity_is_configurable(resolved, client, auth):
    _incident, retro = resolved()
    doc = document(client, retro["id"], auth)
    assert doc["template"] == "security"
    keys = [s["key"] for s in doc["sections"]]
    assert {"data_exposure", "disclosure", "legal_review"} <= set(keys)


@pytest.mark.parametrize("settings_overrides", [{"jira": {"url": "https://jira.example.com", "project": "OPS"}}])
def test_timeline_and_action_items_are_rendered_from_live_data(app, factory, client, auth):
    headers = auth
    owner = factory.person(name="Owen Owner", email="owen@example.com")
    incident, retro = factory.resolved_incident(headers)
    assert "_No timeline events yet._" in document(client, retro["id"], headers)["markdown"]

    client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=headers,
                json=[{"occurred_at": at(10), "text": "Rolled back | v2", "author": "Owen"}])
    first = add_action_item(app, retro["id"], owner.email, title="Alert on pool use", status="in_progress",
                            jira_key="OPS-12", sync_status="synced")
    add_action_item(app, retro["id"], owner.email, title="Old task", due_date=date.today() - timedelta(days=2))
    markdown = document(client, retro["id"], headers)["markdown"]
    assert "| Rolled back \\| v2 | Owen |" in markdown
    assert ("| Alert on pool use | Owen Owner | "
            f"{(date.today() + timedelta(days=7)).isoformat()} | In progress | "
            "[OPS\\-12](<https://jira.example.com/browse/OPS-12>) |") in markdown
    assert f"{(date.today() - timedelta(days=2)).isoformat()} **overdue** | Open |" in markdown

    # A status change (e.g. pulled from Jira) shows at the next read: nothing was frozen.
    from app.actions.models import ActionItem
    from app.db import get_session

    with app.app_context():
        session = get_session()
        session.get(ActionItem, first).status = "done"
        session.commit()
    assert "| Done | [OPS\\-12]" in document(client, retro["id"], headers)["markdown"]


def test_saving_a_section_keeps_every_version(resolved, client, auth):
    _incident, retro = resolved()
    url = f"/api/v1/retrospectives/{retro['id']}/sections/impact"
    first = client.put(url, headers=auth, json={"body": "Checkout down for 40 min.", "version": 1})
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["version"] == 2 and first.get_json()["updated_by"] == "admin@example.com"
    second = client.put(url, headers=auth, json={"body": "Checkout down for 42 min.", "version": 2,
                                                  "title": "Customer impact"})
    assert second.get_json()["version"] == 3 and second.get_json()["title"] == "Customer impact"

    doc = document(client, retro["id"], auth)
    assert section(doc, "impact")["body"] == "Checkout down for 42 min."
    assert "## Customer impact\n\nCheckout down for 42 min." in doc["markdown"]
    history = client.get(f"{url}/history", headers=auth).get_json()
    assert [v["version"] for v in history["items"]] == [3, 2, 1]
    assert history["items"][1]["body"] == "Checkout down for 40 min."
    assert history["items"][2]["body"] == ""  # generated empty: the prompt is the section's placeholder
    assert section(doc, "impact")["prompt"].startswith("Who and what was affected")
    assert history["items"][2]["created_by"] is None


def test_a_stale_version_gets_409_with_the_current_text(resolved, client, auth, factory):
    _incident, retro = resolved()
    url = f"/api/v1/retrospectives/{retro['id']}/sections/went_well"
    assert client.put(url, headers=auth, json={"body": "Alice's text", "version": 1}).status_code == 200
    stale = client.put(url, headers=auth, json={"body": "Bob's text", "version": 1})
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "stale_version" and "version" in error["fields"]
    assert error["current"]["body"] == "Alice's text" and error["current"]["version"] == 2
    assert error["current"]["updated_by"] == "admin@example.com"
    # Nothing was overwritten, and Bob's merge against version 2 goes through.
    assert section(document(client, retro["id"], auth), "went_well")["body"] == "Alice's text"
    merged = client.put(url, headers=auth, json={"body": "Alice's text\n\nBob's text", "version": 2})
    assert merged.status_code == 200 and merged.get_json()["version"] == 3


def test_resending_the_saved_text_is_not_a_conflict(resolved, client, auth):
    _incident, retro = resolved()
    url = f"/api/v1/retrospectives/{retro['id']}/sections/lessons"
    assert client.put(url, headers=auth, json={"body": "Same", "version": 1}).get_json()["version"] == 2
    retry = client.put(url, headers=auth, json={"body": "Same", "version": 1})
    assert retry.status_code == 200 and retry.get_json()["version"] == 2
    history = client.get(f"{url}/history", headers=auth).get_json()
    assert len(history["items"]) == 2


def test_the_conditional_update_refuses_a_write_that_lost_the_race(app, resolved, auth, admin):
    """Two facilitators read version 1 at once: the check and the write are one statement."""
    from sqlalchemy import update

    from app.core.errors import Conflict
    from app.db import get_session
    from app.documents import service
    from app.documents.models import DocumentSection
    from app.documents.service.editing import _section

    _incident, retro = resolved()
    user = admin[0]
    with app.app_context():
        session = get_session()
        mine = _section(session, retro["id"], "impact")
        assert mine.version == 1
        # The other facilitator's save lands between our read and our write.
        session.execute(update(DocumentSection).where(DocumentSection.id == mine.id)
                        .values(version=2, body="theirs").execution_options(synchronize_session=False))
        session.commit()  # our copy still says version 1 (no expiry on commit): only the UPDATE can tell
        with pytest.raises(Conflict) as caught:
            service.save_section(session, viewer=user, retro_id=retro["id"], key="impact", body="mine", version=1)
        assert caught.value.extra["current"]["body"] == "theirs"
        assert caught.value.extra["current"]["version"] == 2


def test_reading_a_document_writes_nothing(app, resolved, auth, client):
    """The document is generated when the retro is booked; a GET never writes, even for a retro without one."""
    from sqlalchemy import delete, func, select

    from app.db import get_session
    from app.documents.models import DocumentSection, DocumentSectionVersion

    _incident, retro = resolved()
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count(DocumentSection.id))
                              .where(DocumentSection.retrospective_id == retro["id"])) == len(STANDARD)
        # A retro booked before documents existed has no sections.
        sections = select(DocumentSection.id).where(DocumentSection.retrospective_id == retro["id"])
        session.execute(delete(DocumentSectionVersion).where(DocumentSectionVersion.section_id.in_(sections)))
        session.execute(delete(DocumentSection).where(DocumentSection.retrospective_id == retro["id"]))
        session.commit()

    assert document(client, retro["id"], auth)["sections"] == []
    with app.app_context():
        assert get_session().scalar(select(func.count(DocumentSection.id))
                                    .where(DocumentSection.retrospective_id == retro["id"])) == 0
    # Choosing a template (a PUT, before anyone edited the document) generates it.
    response = client.put(f"/api/v1/retrospectives/{retro['id']}/document/template", headers=auth,
                          json={"template": "standard"})
    assert response.status_code == 200, response.get_json()
    assert [s["key"] for s in response.get_json()["sections"]] == STANDARD


@pytest.mark.parametrize("body, field", [
    ({"body": "x"}, "version"),
    ({"version": 1}, "body"),
    ({"body": "x", "version": 0}, "version"),
    ({"body": "x", "version": 1, "title": "two\nlines"}, "title"),
    ({"body": "x", "version": 1, "owner": "me"}, "owner"),
])
def test_bad_section_input_names_the_field(resolved, client, auth, body, field):
    _incident, retro = resolved()
    response = client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=auth, json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_unknown_section_and_retro_are_404(resolved, client, auth):
    _incident, retro = resolved()
    response = client.put(f"/api/v1/retrospectives/{retro['id']}/sections/nope", headers=auth,
                          json={"body": "x", "version": 1})
    assert response.status_code == 404
    assert client.get("/api/v1/retrospectives/999999/document", headers=auth).status_code == 404


def test_an_unclosed_code_fence_cannot_swallow_later_sections(resolved, client, auth):
    _incident, retro = resolved()
    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=auth,
               json={"body": "Logs:\n\n```\nERROR pool exhausted", "version": 1})
    html = Page(client.get(f"/api/v1/retrospectives/{retro['id']}/export?format=html", headers=auth).get_data(as_text=True))
    assert "Contributing factors" in html.texts("h2") and "Lessons learned" in html.texts("h2")


def test_choosing_another_template_before_any_edit(resolved, client, auth):
    _incident, retro = resolved()
    url = f"/api/v1/retrospectives/{retro['id']}/document/template"
    changed = client.put(url, headers=auth, json={"template": "security"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["template"] == "security"
    assert "data_exposure" in [s["key"] for s in changed.get_json()["sections"]]
    assert client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()["template"] == "security"

    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=auth, json={"body": "Edited", "version": 1})
    refused = client.put(url, headers=auth, json={"template": "standard"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "document_edited"
    assert section(document(client, retro["id"], auth), "impact")["body"] == "Edited"
    unknown = client.put(url, headers=auth, json={"template": "nope"})
    assert unknown.status_code == 422 and "template" in unknown.get_json()["error"]["fields"]


def test_pasted_control_characters_are_kept_except_nul(resolved, client, auth):
    _incident, retro = resolved()
    url = f"/api/v1/retrospectives/{retro['id']}/sections/impact"
    saved = client.put(url, headers=auth, json={"body": "log\x00 line \x1b[31mred\x1b[0m\x07", "version": 1})
    assert saved.status_code == 200 and saved.get_json()["body"] == "log line \x1b[31mred\x1b[0m\x07"
    for fmt in ("markdown", "html", "docx", "confluence"):
        assert client.get(f"/api/v1/retrospectives/{retro['id']}/export?format={fmt}", headers=auth).status_code == 200
    titled = client.put(url, headers=auth, json={"body": "x", "version": 2, "title": "bad\x00title"})
    assert titled.status_code == 422 and "title" in titled.get_json()["error"]["fields"]
    for key in ("%00", "UPPER", "a%20b", "x" * 70):
        assert client.put(f"/api/v1/retrospectives/{retro['id']}/sections/{key}", headers=auth,
                          json={"body": "x", "version": 1}).status_code == 404
