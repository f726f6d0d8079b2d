"""Template prompts are placeholders: stored apart from the section's text, never in a body or an export."""

from __future__ import annotations

import io

import docx
import pytest
import sqlalchemy as sa

from app.migrations import upgrade
from tests.documents.conftest import document, section

FORMATS = ("markdown", "html", "docx", "confluence")


def export_text(client, retro_id: int, fmt: str, headers: dict[str, str]) -> str:
    """Everything an export holds as text (every paragraph, heading and table cell of a DOCX)."""
    response = client.get(f"/api/v1/retrospectives/{retro_id}/export?format={fmt}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    if fmt != "docx":
        return response.get_data(as_text=True)
    word = docx.Document(io.BytesIO(response.data))
    cells = [cell.text for table in word.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in word.paragraphs] + cells)


@pytest.mark.parametrize("template", ["standard", "security", "lightweight"])
def test_builtin_prompts_are_stored_apart_from_the_text(resolved, client, auth, template):
    _incident, retro = resolved(description="The **primary** failed over.")
    changed = client.put(f"/api/v1/retrospectives/{retro['id']}/document/template", headers=auth,
                         json={"template": template})
    assert changed.status_code == 200, changed.get_json()
    doc = document(client, retro["id"], auth)
    prompts = {s["key"]: s["prompt"] for s in doc["sections"] if s["prompt"]}
    # Every free-text section has its question; the prefilled summary has one too.
    assert "summary" in prompts and prompts["summary"].startswith("In two or three sentences")
    assert len(prompts) >= (2 if template == "lightweight" else 6)
    for item in doc["sections"]:
        assert item["prompt"] not in item["body"] or not item["prompt"]
        assert not item["body"].lstrip().startswith("_") or item["key"] == "ground_rules"
    # The summary keeps its prefilled facts; the closing question is gone from its text.
    summary = section(doc, "summary")["body"]
    assert "| Severity |" in summary and "The **primary** failed over." in summary
    assert "two or three sentences" not in summary
    assert all(section(doc, key)["body"] == "" for key in prompts if key != "summary")


def test_no_prompt_ever_reaches_an_export_and_empty_sections_say_so(resolved, client, auth):
    _incident, retro = resolved()
    client.put(f"/api/v1/retrospectives/{retro['id']}/document/template", headers=auth, json={"template": "security"})
    saved = client.put(f"/api/v1/retrospectives/{retro['id']}/sections/went_well", headers=auth,
                       json={"body": "The on-call **paged fast**.", "version": 1})
    assert saved.status_code == 200
    doc = document(client, retro["id"], auth)
    prompts = [s["prompt"] for s in doc["sections"] if s["prompt"]]
    assert len(prompts) >= 8
    assert not any(prompt in doc["markdown"] for prompt in prompts)
    for fmt in FORMATS:
        text = export_text(client, retro["id"], fmt, auth)
        # Distinctive pieces of each prompt (a DOCX splits no sentence, but escapes differ by format).
        assert not [p for p in prompts if p[:40] in text], fmt
        assert "Not discussed." in text, fmt
        assert "paged fast" in text, fmt
    # The heading of each unwritten section stays, followed by the plain statement, not a question.
    assert "## Impact\n\n_Not discussed._\n" in doc["markdown"]
    assert "## What went well\n\nThe on-call **paged fast**." in doc["markdown"]
    # Live sections show their table, never "not discussed".
    assert "## Timeline\n\n_No timeline events yet._\n\n## " in doc["markdown"]


def test_the_api_and_the_template_list_show_prompts(client, auth):
    listed = {t["name"]: t for t in client.get("/api/v1/templates", headers=auth).get_json()["items"]}
    lessons = next(s for s in listed["standard"]["sections"] if s["key"] == "lessons")
    assert lessons["prompt"].startswith("What do we know now")


def test_custom_templates_declare_prompts_that_stay_out_of_the_text(resolved, client, auth):
    created = client.post("/api/v1/templates", headers=auth, json={
        "name": "payments", "title": "Payments retro",
        "sections": [
            {"key": "facts", "title": "Facts", "body": "{{ incident.title | inline }} ({{ incident.severity }})"},
            {"key": "money", "title": "Money lost", "body": "", "prompt": "How much did {{ customers }} lose?"},
            {"key": "timeline", "title": "Timeline", "body": ""},
        ],
    })
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["sections"][1]["prompt"] == "How much did {{ customers }} lose?"
    _incident, retro = resolved(title="Card auth failures")
    client.put(f"/api/v1/retrospectives/{retro['id']}/document/template", headers=auth, json={"template": "payments"})
    doc = document(client, retro["id"], auth)
    money = section(doc, "money")
    # A prompt is plain text, never rendered as Jinja.
    assert money["prompt"] == "How much did {{ customers }} lose?" and money["body"] == ""
    assert section(doc, "facts")["body"] == "Card auth failures (SEV1)" and section(doc, "facts")["prompt"] == ""
    for fmt in FORMATS:
        text = export_text(client, retro["id"], fmt, auth)
        assert "How much did" not in text and "Not discussed." in text, fmt


def test_a_prompt_with_line_breaks_is_stored_as_one_line(resolved, client, auth):
    created = client.post("/api/v1/templates", headers=auth, json={
        "name": "brief", "title": "Brief",
        "sections": [{"key": "notes", "title": "Notes", "prompt": "What happened?\n\nWho noticed first?"}],
    })
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["sections"][0]["prompt"] == "What happened? Who noticed first?"


def test_the_migration_keeps_the_text_of_existing_sections(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0006")
    engine = sa.create_engine(url)
    old_body = "_What helped us detect, respond and recover?_\n\nThe pager worked; Sam wrote this."
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO document_sections (id, retrospective_id, key, title, body, position, version, updated_at) "
            "VALUES (1, 1, 'went_well', 'What went well', :body, 0, 3, '2026-12-01 10:00:00')"
        ), {"body": old_body})
    upgrade(url, "0007")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT body, prompt, version FROM document_sections WHERE id = 1")).one()
    engine.dispose()
    assert row.body == old_body and row.prompt == "" and row.version == 3
