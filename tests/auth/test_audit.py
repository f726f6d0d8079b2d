"""The audit log: sign-ins, failed sign-ins and sign-outs recorded with the address; the page's filters
and pages; lines past the retention pruned by the scheduled job."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.auth import audit
from app.auth.jobs import audit_prune_job
from app.auth.models import AuditKind
from app.auth.service import disable_user, find_user
from app.db import get_session, utcnow
from tests.auth.test_admin_pages import ADDRESS, events, people, post  # noqa: F401  (fixture)
from tests.web import Page, sign_in_form


def _browser(app, address=ADDRESS):
    web = app.test_client()
    web.environ_base["REMOTE_ADDR"] = address
    return web


def test_sign_ins_failures_and_sign_outs_are_recorded_with_the_address(app, admin, factory):
    factory.user(email="dan@example.com", name="Dan Dev")
    web = _browser(app)
    assert sign_in_form(web, "admin@example.com", "wrong password!").status_code == 401
    assert sign_in_form(web, "nobody@example.com").status_code == 401
    assert sign_in_form(web, "admin@example.com").status_code == 302
    assert web.post("/logout", data={"csrf_token": Page.of(web.get("/")).find("input", name="csrf_token").attrs["value"]}
                    ).status_code == 302
    with app.app_context():
        session = get_session()
        disable_user(session, user=find_user(session, email="dan@example.com"), now=utcnow())
        session.commit()
    assert sign_in_form(web, "dan@example.com").status_code == 403
    lines = [(e.kind, e.actor_name, e.detail, e.address) for e in events(app)]
    assert lines == [
        (AuditKind.SIGN_IN_FAILED, "Ada Admin", "with a password: wrong password", ADDRESS),
        (AuditKind.SIGN_IN_FAILED, "nobody@example.com", "with a password: unknown email", ADDRESS),
        (AuditKind.SIGN_IN, "Ada Admin", "with a password", ADDRESS),
        (AuditKind.SIGN_OUT, "Ada Admin", None, ADDRESS),
        (AuditKind.SIGN_IN_FAILED, "Dan Dev", "with a password: the account is disabled", ADDRESS),
    ]
    assert events(app)[0].actor_id == events(app)[2].actor_id is not None  # a known account is filterable


def test_signing_out_everywhere_is_recorded_with_the_count(app, admin):
    web = _browser(app)
    sign_in_form(web, "admin@example.com")
    sign_in_form(_browser(app, "198.51.100.2"), "admin@example.com")
    token = Page.of(web.get("/")).find("input", name="csrf_token").attrs["value"]
    web.post("/logout/everywhere", data={"csrf_token": token})
    [line] = events(app, AuditKind.SIGN_OUT_EVERYWHERE)
    assert line.detail == "2 sessions ended" and line.address == ADDRESS


def _lines(app, admin_user, uma_user):
    """Lines by Ada and Uma over three days, set at fixed times."""
    base = utcnow().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=3)
    with app.app_context():
        session = get_session()
        for day, kind, actor in [(0, AuditKind.SIGN_IN, admin_user), (1, AuditKind.TOKEN_CREATED, uma_user),
                                 (2, AuditKind.SIGN_IN, uma_user)]:
            audit.record(session, kind=kind, at=base + timedelta(days=day), actor=session.merge(actor),
                         address="192.0.2.1", subject=f"day {day}")
        session.commit()
    return base


def _shown(web, query=""):
    page = Page.of(web.get(f"/admin/audit{query}"))
    return page, [row.text for row in page.find_all("tr") if row.attrs.get("id", "").startswith("event-")]


def test_the_log_filters_by_who_what_and_period(app, people, admin):
    with app.app_context():
        uma = find_user(get_session(), email="uma@example.com")
        get_session().expunge_all()
    base = _lines(app, admin[0], uma)
    web = people["ada"]
    _page, rows = _shown(web, f"?who={uma.id}")
    assert all("Uma User" in row for row in rows) and any("day 1" in row for row in rows)
    assert not any("Ada Admin" in row.split("Signed in")[0] for row in rows if "day 0" in row)
    _page, rows = _shown(web, "?kind=token_created")
    assert len(rows) == 1 and "Created an API token: day 1" in rows[0] and "192.0.2.1" in rows[0]
    day = (base + timedelta(days=1)).date().isoformat()
    _page, rows = _shown(web, f"?since={day}&until={day}")
    assert [("day 1" in row) for row in rows] == [True]
    page, rows = _shown(web, "?since=yesterday&kind=nope&who=12x")
    assert "Give a day" in page.by_id("since-error").text
    assert "Pick a kind" in page.by_id("kind-error").text and "Pick someone" in page.by_id("who-error").text
    assert rows  # the bad filters are left out, not a 500 or an empty page
    page, _rows = _shown(web, f"?since={day}&until={(base.date()).isoformat()}")
    assert "swap them" in page.by_id("until-error").text


def test_the_log_pages_newest_first_and_keeps_the_filters(app, people, admin):
    with app.app_context():
        session = get_session()
        start = utcnow() - timedelta(hours=2)
        for n in range(audit.PER_PAGE + 5):
            audit.record(session, kind=AuditKind.TOKEN_REVOKED, at=start + timedelta(seconds=n),
                         actor=session.merge(admin[0]), subject=f"token {n}")
        session.commit()
    page, rows = _shown(people["ada"], "?kind=token_revoked")
    assert len(rows) == audit.PER_PAGE and f"token {audit.PER_PAGE + 4}" in rows[0]
    assert "page 1 of 2" in page.by_id("count").text
    older = page.find("a", rel="next").attrs["href"]
    assert "kind=token_revoked" in older and "page=2" in older
    page, rows = _shown(people["ada"], older.removeprefix("/admin/audit"))
    assert len(rows) == 5 and "token 0" in rows[-1] and page.find("a", rel="prev")
    assert _shown(people["ada"], "?kind=token_revoked&page=99")[1] == rows  # past the end: the last page


@pytest.mark.parametrize("settings_overrides", [{"audit": {"retention_days": 30}}])
def test_lines_older_than_the_retention_are_pruned_by_the_job(app, admin):
    now = datetime.now(timezone.utc)
    with app.app_context():
        session = get_session()
        for days in (31, 29, 0):
            audit.record(session, kind=AuditKind.SIGN_IN, at=now - timedelta(days=days), actor=session.merge(admin[0]),
                         subject=f"{days} days ago")
        session.commit()
        assert audit_prune_job(session, settings=app.extensions["hindsight.settings"]) == {"pruned": 1}
        session.commit()
    assert [e.subject for e in events(app)] == ["29 days ago", "0 days ago"]
