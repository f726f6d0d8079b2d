"""The editor's preview: the HTML export's renderer, as safe as the export, only for those who may see the retro."""

from __future__ import annotations

import exporters
from tests.web import page_csrf_token, sign_in

BODY = ("We **rolled back** in 4 min.\n\n| Step | Who |\n|---|---|\n| Rollback | Sam |\n\n"
        "- [runbook](https://wiki.example.com/runbook)\n")


def preview_url(retro_id: int) -> str:
    return f"/api/v1/retrospectives/{retro_id}/preview"


def test_the_preview_is_what_the_html_export_prints(resolved, client, auth):
    _incident, retro = resolved()
    response = client.post(preview_url(retro["id"]), headers=auth, json={"body": BODY})
    assert response.status_code == 200, response.get_json()
    html = response.get_json()["html"]
    assert html == exporters.to_html_fragment(exporters.parse(BODY))
    assert "<strong>rolled back</strong>" in html and "<td>Rollback</td>" in html
    # The same HTML appears in the exported HTML file once the section is saved.
    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/went_well", headers=auth, json={"body": BODY, "version": 1})
    exported = client.get(f"/api/v1/retrospectives/{retro['id']}/export?format=html", headers=auth).get_data(as_text=True)
    assert html in exported


def test_the_preview_escapes_html_and_drops_unsafe_links(resolved, client, auth):
    _incident, retro = resolved()
    body = '<script>alert("x")</script>\n\n<img src=x onerror=alert(1)> [click](javascript:alert(2)) ![pic](https://e.example/p.png)'
    html = client.post(preview_url(retro["id"]), headers=auth, json={"body": body}).get_json()["html"]
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "javascript:" not in html.replace("[click](javascript:alert(2))", "")
    assert 'href="javascript' not in html
    assert '<a href="https://e.example/p.png" rel="noopener noreferrer nofollow">pic</a>' in html


def test_an_empty_body_previews_as_nothing_and_a_missing_one_is_refused(resolved, client, auth):
    _incident, retro = resolved()
    assert client.post(preview_url(retro["id"]), headers=auth, json={"body": ""}).get_json() == {"html": ""}
    missing = client.post(preview_url(retro["id"]), headers=auth, json={})
    assert missing.status_code == 422 and "body" in missing.get_json()["error"]["fields"]


def test_a_private_retro_is_404_to_an_outsider_and_signed_out_callers_are_refused(factory, auth, client):
    _responder, responder_auth = factory.user(email="responder@example.com")
    _outsider, outsider_auth = factory.user(email="outsider@example.com")
    _incident, retro = factory.resolved_incident(auth, visibility="private", commander="responder@example.com")
    assert client.post(preview_url(retro["id"]), headers=outsider_auth, json={"body": "x"}).status_code == 404
    assert client.post(preview_url(retro["id"]), headers=responder_auth, json={"body": "x"}).status_code == 200
    assert client.post(preview_url(retro["id"]), json={"body": "x"}).status_code == 401
    assert client.post(preview_url(999999), headers=auth, json={"body": "x"}).status_code == 404


def test_a_page_session_must_send_the_csrf_token(app, factory, admin):
    _incident, retro = factory.resolved_incident(admin[1])
    web = sign_in(app, "admin@example.com")
    refused = web.post(preview_url(retro["id"]), json={"body": "**x**"})
    assert refused.status_code in (400, 403) and refused.get_json()["error"]["code"] == "csrf_failed"
    token = page_csrf_token(web, f"/retrospectives/{retro['id']}/document")
    done = web.post(preview_url(retro["id"]), json={"body": "**x**"}, headers={"X-CSRFToken": token})
    assert done.status_code == 200 and done.get_json()["html"] == "<p><strong>x</strong></p>\n"
