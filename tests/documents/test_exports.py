"""Exports through the route: every format, its structure, XSS inert everywhere, private incidents hidden."""

import io
import zipfile

import docx
import pytest

from tests.documents.conftest import add_action_item, at
from tests.fakes.confluence import AC_NS, parse_storage
from tests.web import Page

AC = "{%s}" % AC_NS
XSS = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"
JS_LINK = "[click](javascript:alert(2))"


def export(client, retro_id, fmt, headers):
    return client.get(f"/api/v1/retrospectives/{retro_id}/export?format={fmt}", headers=headers)


@pytest.fixture
def rich_retro(app, factory, auth, client):
    """A retro with a handoff, links, a timeline, action items and edited sections."""
    owner = factory.person(name="Owen Owner", email="owen@example.com")
    incident, retro = factory.resolved_incident(
        auth, title="Payments outage", severity="SEV1",
        links=[{"title": "Status page", "url": "https://status.example.com/incidents/1"}],
    )
    client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=auth, json=[
        {"occurred_at": at(5), "text": "Alert: **5xx** above 10%", "author": "PagerDuty"},
        {"occurred_at": at(20), "text": "Rolled back `payments@v42`", "author": "Owen"},
    ])
    add_action_item(app, retro["id"], owner.email, title="Alert on queue depth", status="done", jira_key="PAY-7")
    add_action_item(app, retro["id"], owner.email, title="Runbook for rollback", status="in_progress")
    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/went_well", headers=auth, json={
        "version": 1,
        "body": "- Fast **rollback**\n  - by *Owen*\n    1. found\n    2. fixed\n- Clear comms\n\n"
                "```bash\nkubectl rollout undo deploy/payments\n```",
    })
    return incident, retro


@pytest.mark.parametrize("settings_overrides", [{"jira": {"url": "https://jira.example.com", "project": "PAY"}}])
def test_every_format_downloads_with_type_and_name(rich_retro, client, auth):
    _incident, retro = rich_retro
    expected = {
        "markdown": ("text/markdown; charset=utf-8", ".md"),
        "html": ("text/html; charset=utf-8", ".html"),
        "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
        "confluence": ("text/plain; charset=utf-8", ".confluence.xml"),
    }
    for fmt, (content_type, extension) in expected.items():
        response = export(client, retro["id"], fmt, auth)
        assert response.status_code == 200, (fmt, response.data[:300])
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="retro-{retro["id"]}-payments-outage{extension}"'
        )
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    markdown = export(client, retro["id"], "markdown", auth).get_data(as_text=True)
    assert markdown.startswith("# Retrospective: Payments outage\n\n## Ground rules\n")
    assert "| Alert on queue depth | Owen Owner |" in markdown


@pytest.mark.parametrize("settings_overrides", [{"jira": {"url": "https://jira.example.com", "project": "PAY"}}])
def test_docx_has_real_word_structure(rich_retro, client, auth):
    _incident, retro = rich_retro
    document = docx.Document(io.BytesIO(export(client, retro["id"], "docx", auth).data))
    paragraphs = document.paragraphs
    assert paragraphs[0].style.name == "Title" and paragraphs[0].text == "Retrospective: Payments outage"
    headings = [p.text for p in paragraphs if p.style.name == "Heading 1"]
    assert headings[:4] == ["Ground rules", "Summary", "Impact", "Timeline"]
    assert "Action items" in headings
    rules = [p for p in paragraphs if p.style.name == "List Number"]
    assert rules[0].text.startswith("We are here to learn")
    listed = [(p.text, int(p._p.pPr.numPr.ilvl.val)) for p in paragraphs
              if p.style.name.startswith(("List Bullet", "List Number"))]
    start = listed.index(("Fast rollback", 0))
    assert listed[start:start + 5] == [("Fast rollback", 0), ("by Owen", 1), ("found", 2), ("fixed", 2),
                                       ("Clear comms", 0)]
    assert any(p.style.name == "Code Block" and p.text == "kubectl rollout undo deploy/payments" for p in paragraphs)
    [link] = [h for p in paragraphs for h in p.hyperlinks]
    assert link.url == "https://status.example.com/incidents/1" and link.text == "Status page"

    tables = {t.rows[0].cells[0].text: t for t in document.tables}
    timeline = tables["When"]
    assert [c.text for c in timeline.rows[0].cells] == ["When", "Kind", "Event", "Who"]
    # Timeline entries are facts, shown as entered: their Markdown punctuation is not formatting.
    assert [c.text for c in timeline.rows[1].cells][1:] == ["note", "Alert: **5xx** above 10%", "PagerDuty"]
    assert timeline.rows[2].cells[2].text == "Rolled back `payments@v42`"
    runs = [run for row in timeline.rows[1:] for run in row.cells[2].paragraphs[0].runs]
    assert not any(run.bold or run.style.name == "Inline Code" for run in runs)
    actions = tables["Action"]
    assert [[c.text for c in row.cells] for row in actions.rows][1][3:] == ["Done", "PAY-7"]
    [jira] = actions.rows[1].cells[4].paragraphs[0].hyperlinks
    assert jira.url == "https://jira.example.com/browse/PAY-7"
    assert actions.rows[2].cells[3].text == "In progress"
    props = document.core_properties
    assert props.title == "Retrospective: Payments outage" and props.subject.startswith("SEV1 incident #")


def test_confluence_export_is_well_formed_with_status_lozenges(rich_retro, client, auth):
    _incident, retro = rich_retro
    root = parse_storage(export(client, retro["id"], "confluence", auth).get_data(as_text=True))
    assert root.find("h1") is None and root.find("h2").text == "Ground rules"
    statuses = [
        {p.get(f"{AC}name"): p.text for p in macro.findall(f"{AC}parameter")}
        for macro in root.iter(f"{AC}structured-macro") if macro.get(f"{AC}name") == "status"
    ]
    assert statuses == [{"colour": "Green", "title": "DONE"}, {"colour": "Blue", "title": "IN PROGRESS"}]
    code = [m for m in root.iter(f"{AC}structured-macro") if m.get(f"{AC}name") == "code"]
    assert code[0].find(f"{AC}plain-text-body").text == "kubectl rollout undo deploy/payments"
    header_rows = [t.find("tbody/tr") for t in root.iter("table")]
    assert all(row.find("th") is not None and row.find("td") is None for row in header_rows)


def test_bad_format_is_refused_naming_format(resolved, client, auth):
    _incident, retro = resolved()
    for bad in ("pdf", "", "DOCX"):
        response = export(client, retro["id"], bad, auth)
        assert response.status_code == 422
        assert "format" in response.get_json()["error"]["fields"]
    default = client.get(f"/api/v1/retrospectives/{retro['id']}/export", headers=auth)
    assert default.status_code == 200 and default.headers["Content-Type"].startswith("text/markdown")


def test_xss_payloads_are_inert_in_every_format(app, factory, auth, client):
    owner = factory.person(name=f"Eve {XSS}", email="eve@example.com")
    incident, retro = factory.resolved_incident(
        auth, title=f"Outage {XSS}", description=f"{IMG}\n\n{JS_LINK}\n\n<a href='javascript:alert(3)'>a</a>",
        commander=owner.email, links=[{"title": f"Dash {XSS}", "url": "https://example.com/dash"}],
    )
    client.post(f"/api/v1/incidents/{incident['id']}/timeline", headers=auth,
                json={"occurred_at": at(3), "text": f"{XSS} | {IMG} {JS_LINK}", "author": XSS})
    add_action_item(app, retro["id"], owner.email, title=f"Fix {XSS}")
    client.put(f"/api/v1/retrospectives/{retro['id']}/sections/impact", headers=auth,
               json={"version": 1, "body": f"{XSS}\n\n{IMG}\n\n{JS_LINK} <javascript:alert(4)>\n\n"
                                            "[d](data:text/html;base64,PHNjcmlwdD4=)"})

    html = Page(export(client, retro["id"], "html", auth).get_data(as_text=True))
    assert not {e.tag for e in html.elements} & {"script", "img", "iframe"}
    assert all(not k.startswith("on") for e in html.elements for k in e.attrs)
    hrefs = {e.attrs["href"] for e in html.find_all("a")}
    assert hrefs == {"https://example.com/dash"}
    assert "<script>" in html.text

    data = export(client, retro["id"], "docx", auth).data
    document = docx.Document(io.BytesIO(data))
    urls = {h.url for p in document.paragraphs for h in p.hyperlinks}
    urls |= {h.url for t in document.tables for r in t.rows for c in r.cells for p in c.paragraphs for h in p.hyperlinks}
    assert urls == {"https://example.com/dash"}
    body = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "<script" not in body and "&lt;script&gt;" in body

    root = parse_storage(export(client, retro["id"], "confluence", auth).get_data(as_text=True))
    assert not {e.tag for e in root.iter()} & {"script", "img", "iframe"}
    assert {a.get("href") for a in root.iter("a")} == {"https://example.com/dash"}
    assert XSS in "".join(root.itertext())



def _private_retro(factory, auth, client):
    responder = factory.user(email="responder@example.com", name="Rita Responder")
    incident, retro = factory.resolved_incident(auth, visibility="private", commander="responder@example.com")
    return responder, incident, retro


@pytest.mark.parametrize("method, path, body", [
    ("get", "/document", None),
    ("put", "/sections/impact", {"body": "leak?", "version": 1}),
    ("get", "/sections/impact/history", None),
    ("get", "/export?format=markdown", None),
    ("get", "/export?format=docx", None),
    ("post", "/publish/confluence", None),
    ("put", "/document/template", {"template": "security"}),
])
def test_private_incidents_documents_are_404_to_outsiders(factory, auth, client, outsider, method, path, body):
    (_user, responder_headers), _incident, retro = _private_retro(factory, auth, client)
    _outsider, headers = outsider
    url = f"/api/v1/retrospectives/{retro['id']}{path}"
    response = getattr(client, method)(url, headers=headers, json=body)
    assert response.status_code == 404
    assert "leak?" not in client.get(f"/api/v1/retrospectives/{retro['id']}/document", headers=auth).get_data(as_text=True)
    if method == "get":
        assert getattr(client, method)(url, headers=responder_headers).status_code == 200
