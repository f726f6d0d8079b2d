"""Publishing a retro's document to Confluence through the API, against the loopback Confluence."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.documents.conftest import document
from tests.fakes import on_preferred_port
from tests.fakes.confluence import FakeConfluence, parse_storage


@pytest.fixture
def confluence():
    with on_preferred_port("confluence", lambda port: FakeConfluence(port=port)) as fake:
        fake.parent = fake.add_page("Incident retrospectives")
        yield fake


@pytest.fixture
def settings_overrides(confluence):
    return {"confluence": {
        "url": confluence.url, "user": confluence.user, "token": confluence.token, "space": confluence.space,
        "parent_id": confluence.parent.id, "timeout_seconds": 2, "max_retry_after_seconds": 5,
    }}


def publish(client, retro_id, headers):
    return client.post(f"/api/v1/retrospectives/{retro_id}/publish/confluence", headers=headers)


def test_first_publish_creates_the_page_later_ones_update_it(confluence, resolved, client, auth):
    _incident, retro = resolved(title="Search is slow")
    first = publish(client, retro["id"], auth)
    assert first.status_code == 200, first.get_json()
    answer = first.get_json()
    assert answer["version"] == 1 and answer["status"] == "published"
    assert answer["title"] == f"Retrospective #{retro['id']}: Search is slow"
    page = confluence.pages[answer["page_id"]]
    assert page.ancestors == [confluence.parent.id]
    assert answer["url"] == f"{confluence.url}/spaces/RETRO/pages/{page.id}"
    root = parse_storage(page.body)
    assert root.find("h2").text == "Ground rules"

    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=auth,
               json={"body": "Search p99 at 9 s for an hour.", "version": 1})
    second = publish(client, retro["id"], auth).get_json()
    assert (second["page_id"], second["version"]) == (answer["page_id"], 2)
    assert "Search p99 at 9 s for an hour." in confluence.pages[answer["page_id"]].body
    assert len(confluence.pages) == 2  # the parent and our one page
    state = document(client, retro["id"], auth)["publications"]["confluence"]
    assert state["status"] == "published" and state["version"] == 2 and state["attempts"] == 2
    assert state["url"] == answer["url"] and state["last_error"] is None


def test_an_edit_made_in_confluence_is_not_a_failure(confluence, resolved, client, auth):
    _incident, retro = resolved()
    page_id = publish(client, retro["id"], auth).get_json()["page_id"]
    confluence.edit_in_confluence(page_id)
    confluence.edit_in_confluence(page_id)
    again = publish(client, retro["id"], auth)
    assert again.status_code == 200 and again.get_json()["version"] == 4


def test_a_page_left_by_a_lost_answer_is_updated_not_duplicated(confluence, resolved, client, auth):
    _incident, retro = resolved(title="Lost answer")
    confluence.add_page(f"Retrospective #{retro['id']}: Lost answer", "<p>first attempt</p>")
    answer = publish(client, retro["id"], auth).get_json()
    assert answer["version"] == 2
    assert [p.title for p in confluence.pages.values()].count(f"Retrospective #{retro['id']}: Lost answer") == 1


@pytest.mark.parametrize("status, answer, code", [
    (500, 502, "confluence_failed"), (503, 503, "confluence_unavailable"), (504, 504, "confluence_timeout"),
    (400, 502, "confluence_failed"),
])
def test_failures_answer_5xx_and_are_recorded_on_the_retro(confluence, resolved, client, auth, status, answer, code):
    _incident, retro = resolved()
    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=auth,
               json={"body": "Saved before the outage.", "version": 1})
    confluence.fail_next(status, message="Confluence had a bad day")
    failed = publish(client, retro["id"], auth)
    assert failed.status_code == answer
    error = failed.get_json()["error"]
    assert error["code"] == code and "Confluence had a bad day" in error["message"]
    assert error["publication"]["status"] == "failed"

    doc = document(client, retro["id"], auth)
    state = doc["publications"]["confluence"]
    assert state["status"] == "failed" and "Confluence had a bad day" in state["last_error"]
    assert state["attempts"] == 1 and state["page_id"] is None
    assert next(s for s in doc["sections"] if s["key"] == "impact")["body"] == "Saved before the outage."

    recovered = publish(client, retro["id"], auth)
    assert recovered.status_code == 200 and recovered.get_json()["version"] == 1
    state = document(client, retro["id"], auth)["publications"]["confluence"]
    assert state["status"] == "published" and state["last_error"] is None and state["attempts"] == 2
    assert len(confluence.pages) == 2


def test_a_failed_update_keeps_the_page_it_had(confluence, resolved, client, auth):
    _incident, retro = resolved()
    first = publish(client, retro["id"], auth).get_json()
    confluence.fail_next(500)
    assert publish(client, retro["id"], auth).status_code == 502
    state = document(client, retro["id"], auth)["publications"]["confluence"]
    assert (state["status"], state["page_id"], state["version"]) == ("failed", first["page_id"], 1)
    assert publish(client, retro["id"], auth).get_json() | {"url": None} == first | {"version": 2, "url": None}


def test_rate_limit_is_waited_out_or_answered_503(confluence, resolved, client, auth):
    _incident, retro = resolved()
    confluence.rate_limit_next(2, retry_after="0")
    assert publish(client, retro["id"], auth).status_code == 200
    confluence.rate_limit_next(1, retry_after="3600")
    limited = publish(client, retro["id"], auth)
    assert limited.status_code == 503
    assert limited.get_json()["error"]["retry_after"] == 3600
    assert document(client, retro["id"], auth)["publications"]["confluence"]["status"] == "failed"


def _fresh(make_app, **overrides):
    """An app with its own settings on the test database (empty when the test starts), and an admin's headers."""
    from tests.conftest import Factory

    app = make_app(**overrides)
    local = Factory(app)
    _user, headers = local.user(admin=True, email="boss@example.com")
    _incident, retro = local.resolved_incident(headers)
    return app.test_client(), headers, retro


def test_a_slow_confluence_answers_504(confluence, make_app):
    client, headers, retro = _fresh(make_app, confluence={
        "url": confluence.url, "user": confluence.user, "token": confluence.token, "space": confluence.space,
        "timeout_seconds": 0.2,
    })
    confluence.delay_next(1.0)
    response = publish(client, retro["id"], headers)
    assert response.status_code == 504 and response.get_json()["error"]["code"] == "confluence_timeout"
    assert document(client, retro["id"], headers)["publications"]["confluence"]["status"] == "failed"


def test_an_unreachable_confluence_answers_503(make_app):
    client, headers, retro = _fresh(make_app, confluence={"url": "http://127.0.0.1:9/wiki", "space": "RETRO",
                                                          "timeout_seconds": 1})
    response = publish(client, retro["id"], headers)
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "confluence_unavailable"


def test_publishing_a_completed_retro_marks_it_published(confluence, resolved, client, auth):
    _incident, retro = resolved()
    # A retro is completed once its meeting has happened: this one was held a minute ago.
    held = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    completed = client.patch(f"/api/v1/retrospectives/{retro['id']}", headers=auth,
                             json={"scheduled_for": held, "status": "completed"})
    assert completed.status_code == 200, completed.get_json()
    assert publish(client, retro["id"], auth).status_code == 200
    assert client.get(f"/api/v1/retrospectives/{retro['id']}", headers=auth).get_json()["status"] == "published"


@pytest.mark.parametrize("settings_overrides", [{}])
def test_publishing_is_off_without_configuration(resolved, client, auth):
    _incident, retro = resolved()
    response = publish(client, retro["id"], auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "confluence_not_configured"
    assert document(client, retro["id"], auth)["publications"] == {"confluence": None}


def test_private_retros_are_published_only_by_those_who_see_them(confluence, factory, auth, client, outsider):
    _responder = factory.user(email="responder@example.com")
    _incident, retro = factory.resolved_incident(auth, visibility="private", commander="responder@example.com")
    assert publish(client, retro["id"], outsider[1]).status_code == 404
    assert confluence.calls() == []


def test_private_retros_stay_out_of_confluence_unless_allowed(confluence, factory, auth, client, make_app, settings_overrides):
    _incident, retro = factory.resolved_incident(auth, visibility="private")
    refused = publish(client, retro["id"], auth)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "private_not_published"
    assert confluence.calls() == []
    allowed = make_app(confluence=settings_overrides["confluence"] | {"publish_private": True}).test_client()
    assert publish(allowed, retro["id"], auth).status_code == 200


def test_the_republish_job_retries_failed_publications(app, confluence, resolved, client, auth):
    from app.db import job_session
    from app.documents.jobs import republish_job
    from app.extensions import settings

    _a, first = resolved(title="First")
    _b, second = resolved(title="Second")
    published = publish(client, first["id"], auth).get_json()
    confluence.fail_next(503)
    assert publish(client, first["id"], auth).status_code == 503
    confluence.fail_next(503)
    assert publish(client, second["id"], auth).status_code == 503

    confluence.fail_next(503)
    with job_session(app) as session:
        assert republish_job(session, settings=settings(app)) == {"published": 0, "failed": 1}
    with job_session(app) as session:
        assert republish_job(session, settings=settings(app)) == {"published": 2, "failed": 0}
    states = [document(client, r["id"], auth)["publications"]["confluence"] for r in (first, second)]
    assert [(s["status"], s["last_error"]) for s in states] == [("published", None), ("published", None)]
    assert states[0]["page_id"] == published["page_id"] and states[0]["version"] == 2
    assert len(confluence.pages) == 3
    with job_session(app) as session:
        assert republish_job(session, settings=settings(app)) == {"published": 0, "failed": 0}


def test_the_republish_job_skips_retros_made_private(app, confluence, resolved, client, auth):
    from app.db import job_session
    from app.documents.jobs import republish_job
    from app.extensions import settings

    incident, first = resolved(title="First")
    _b, second = resolved(title="Second")
    for retro in (first, second):
        confluence.fail_next(503)
        assert publish(client, retro["id"], auth).status_code == 503
    assert client.patch(f"/api/v1/incidents/{incident['id']}", json={"visibility": "private"}, headers=auth).status_code == 200
    with job_session(app) as session:
        assert republish_job(session, settings=settings(app)) == {"published": 1, "failed": 0}
    assert document(client, second["id"], auth)["publications"]["confluence"]["status"] == "published"
    assert document(client, first["id"], auth)["publications"]["confluence"]["status"] == "failed"


def test_a_publish_under_way_is_not_run_twice_and_one_cut_short_is_retried(app, confluence, resolved, client, auth):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import select

    from app.db import get_session, job_session
    from app.documents.jobs import republish_job
    from app.documents.models import DocumentPublication
    from app.extensions import settings

    _incident, retro = resolved(title="Claimed")
    assert publish(client, retro["id"], auth).status_code == 200

    def claim(minutes_ago: int) -> None:
        with app.app_context():
            session = get_session()
            row = session.scalar(select(DocumentPublication).where(DocumentPublication.retrospective_id == retro["id"]))
            row.status = "publishing"
            row.last_attempt_at = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
            session.commit()

    claim(0)  # another request is talking to Confluence right now
    busy = publish(client, retro["id"], auth)
    assert busy.status_code == 409 and busy.get_json()["error"]["code"] == "publish_in_progress"
    with job_session(app) as session:
        assert republish_job(session, settings=settings(app)) == {"published": 0, "failed": 0}

    claim(30)  # its process died mid-call: the claim has expired
    with job_session(app) as session:
        assert republish_job(session, settings=settings(app)) == {"published": 1, "failed": 0}
    state = document(client, retro["id"], auth)["publications"]["confluence"]
    assert state["status"] == "published" and state["version"] == 2 and len(confluence.pages) == 2
