"""Export a big retro (5,000 timeline events, 200 action items) to every format, against baselines.

Each format is timed from the assembled Markdown (parse + export, what the export route
does after reading the database), and again from an already parsed document
(`after_parse_s`, the exporter's own share); the document assembly from PostgreSQL and
the whole DOCX route are timed too. Baselines, measured in the same run on the same Markdown:
- a bare markdown-it-py render (same rules enabled, default renderer, no hardening);
- `pandoc -f markdown -t docx` (skipped with a note when pandoc is not installed).
Targets: DOCX <= 0.5 x pandoc, HTML <= 1.3 x bare render, Markdown <= bare render.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from benchmarks.common import Outcome, make_app, median_seconds, scratch_postgres

NAME = "exports"
DESCRIPTION = "retro document of 5,000 timeline events and 200 action items in every export format"

EVENTS = 5_000
ACTION_ITEMS = 200

RICH_SECTION = """The pool ran dry because **every** retry opened a *new* connection (`max_conn=2000`).

- Detection took 4 minutes
  - the alert fired on [p99 latency](https://grafana.example.com/d/checkout?from=now-6h)
    1. paged the on-call
    2. escalated to the database team
- Recovery took ~~2~~ 3 attempts

```sql
SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction';
```

> Blameless: the retry policy made sense when it was written.
"""


def _event_text(n: int) -> str:
    kinds = (
        f"Checkout error rate at {n % 50}% on **eu-west-1**",
        f"Ran `kubectl rollout status deploy/checkout-{n % 7}`",
        f"Paged *database on-call* for shard {n % 16}",
        f"See [runbook step {n % 9}](https://runbooks.example.com/checkout#step-{n % 9}) | replica lag {n % 90} s",
        f"Plain note number {n}: connections {1000 + n % 900}, queue depth {n % 300}",
    )
    return kinds[n % len(kinds)]


def _seed(app) -> tuple[int, object]:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from app.actions.models import ActionItem
    from app.auth.service import create_user
    from app.db import job_session
    from app.documents.models import DocumentSection
    from app.incidents.models import Incident, IncidentRole, TimelineEvent
    from app.people.service import get_or_create_person
    from app.retros.flows import book_retrospective
    from app.extensions import settings

    started = datetime.now(timezone.utc) - timedelta(days=1)
    with job_session(app) as session:
        admin = create_user(session, email="bench@example.com", name="Bench Admin", is_admin=True)
        people = [get_or_create_person(session, email=f"responder{i}@example.com", name=f"Responder {i}")
                  for i in range(12)]
        incident = Incident(title="Checkout outage: orders DB connection pool exhausted", severity="SEV1",
                            status="resolved", description="Customers could not pay for 3 hours.",
                            started_at=started, detected_at=started + timedelta(minutes=4),
                            resolved_at=started + timedelta(hours=3))
        incident.roles = [IncidentRole(person=p, role="subject_matter_expert", started_at=started) for p in people]
        incident.roles.append(IncidentRole(person=people[0], role="commander", started_at=started))
        session.add(incident)
        session.flush()
        session.execute(insert(TimelineEvent), [
            {"incident_id": incident.id, "occurred_at": started + timedelta(seconds=2 * n), "text": _event_text(n),
             "author": f"Responder {n % 12}", "kind": ("note", "detection", "escalation", "action")[n % 4],
             "source": "api", "created_at": started}
            for n in range(EVENTS)
        ])
        retro = book_retrospective(session, incident=incident, settings=settings(app))
        statuses = ("open", "in_progress", "done", "wont_do")
        session.execute(insert(ActionItem), [
            {"retrospective_id": retro.id, "title": f"Follow-up {n}: cap retries per client", "description": "",
             "owner_id": people[n % 12].id, "due_date": date.today() + timedelta(days=n % 30),
             "status": statuses[n % 4], "priority": "medium", "oversized": False, "jira_key": f"OPS-{n + 1}",
             "sync_status": "synced", "created_at": started, "updated_at": started}
            for n in range(ACTION_ITEMS)
        ])
        section = session.query(DocumentSection).filter_by(retrospective_id=retro.id, key="contributing_factors").one()
        section.body = RICH_SECTION
        return retro.id, admin.id


def run() -> dict[str, Outcome]:
    from markdown_it import MarkdownIt

    import exporters
    from app.auth.models import User
    from app.db import get_session
    from app.documents import service
    from app.extensions import settings

    outcomes: dict[str, Outcome] = {}
    with scratch_postgres() as url, tempfile.TemporaryDirectory() as tmp:
        app = make_app(url, tmp, jira={"url": "https://jira.example.com", "project": "OPS"})
        retro_id, admin_id = _seed(app)
        with app.app_context():
            session = get_session()
            viewer = session.get(User, admin_id)
            config = settings(app)
            assemble_s = median_seconds(
                lambda: service.get_document(session, viewer=viewer, retro_id=retro_id, settings=config), repeat=5
            )
            view = service.get_document(session, viewer=viewer, retro_id=retro_id, settings=config)
            markdown = view.markdown
            meta = service.document_meta(view, config)

        bare_parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
        bare_s = median_seconds(lambda: bare_parser.render(markdown))
        parse_s = median_seconds(lambda: exporters.parse(markdown).tokens)
        parsed = exporters.parse(markdown)
        parsed.tokens
        writer_s = {
            "html": median_seconds(lambda: exporters.to_html(parsed, meta)),
            "docx": median_seconds(lambda: exporters.to_docx(parsed, meta), repeat=5),
            "confluence": median_seconds(lambda: exporters.to_confluence(parsed, meta)),
        }
        timings = {
            "markdown": median_seconds(lambda: exporters.to_markdown(exporters.parse(markdown))),
            "html": median_seconds(lambda: exporters.to_html(exporters.parse(markdown), meta)),
            "docx": median_seconds(lambda: exporters.to_docx(exporters.parse(markdown), meta), repeat=5),
            "confluence": median_seconds(lambda: exporters.to_confluence(exporters.parse(markdown), meta)),
        }
        client = app.test_client()
        with app.app_context():
            from app.auth.service import create_token

            session = get_session()
            token = create_token(session, user=session.get(User, admin_id))
            session.commit()
        headers = {"Authorization": f"Bearer {token}"}
        route_s = median_seconds(
            lambda: client.get(f"/api/v1/retrospectives/{retro_id}/export?format=docx", headers=headers), repeat=3
        )

        size = {"markdown_kb": round(len(markdown.encode()) / 1024, 1), "lines": markdown.count("\n")}
        outcomes["exports.assemble"] = Outcome(
            metrics={"median_s": assemble_s, "full_parse_s": parse_s, "docx_route_s": route_s, **size},
            target="report only (document assembly from PostgreSQL, live timeline and action items)", ok=True,
        )
        outcomes["exports.markdown"] = Outcome(
            metrics={"median_s": timings["markdown"], "bare_render_s": bare_s, "ratio": timings["markdown"] / bare_s},
            target="ratio <= 1.0 (bare markdown-it-py render)", ok=timings["markdown"] <= bare_s,
        )
        outcomes["exports.html"] = Outcome(
            metrics={"median_s": timings["html"], "bare_render_s": bare_s, "ratio": timings["html"] / bare_s,
                     "after_parse_s": writer_s["html"]},
            target="ratio <= 1.3 (bare markdown-it-py render)", ok=timings["html"] <= 1.3 * bare_s,
        )
        outcomes["exports.confluence"] = Outcome(
            metrics={"median_s": timings["confluence"], "bare_render_s": bare_s,
                     "ratio": timings["confluence"] / bare_s, "after_parse_s": writer_s["confluence"]},
            target="report only (ratio to the bare render)", ok=True,
        )
        outcomes["exports.docx"] = _docx_outcome(markdown, timings["docx"], Path(tmp))
        outcomes["exports.docx"].metrics["after_parse_s"] = writer_s["docx"]
    return outcomes


def _docx_outcome(markdown: str, docx_s: float, tmp: Path) -> Outcome:
    pandoc = shutil.which("pandoc")
    if pandoc is None:
        return Outcome(
            metrics={"median_s": docx_s, "pandoc_s": None, "ratio": None},
            target="ratio <= 0.5 (pandoc -f markdown -t docx)", ok=False,
            notes=["pandoc is not installed (apt-get install -y pandoc): the comparison was skipped"],
        )
    source = tmp / "retro.md"
    source.write_text(markdown, encoding="utf-8")
    out = tmp / "retro.docx"
    version = subprocess.run([pandoc, "--version"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    pandoc_s = median_seconds(
        lambda: subprocess.run([pandoc, "-f", "markdown", "-t", "docx", "-o", str(out), str(source)], check=True),
        repeat=5,
    )
    ratio = docx_s / pandoc_s
    return Outcome(
        metrics={"median_s": docx_s, "pandoc_s": pandoc_s, "ratio": ratio},
        target="ratio <= 0.5 (pandoc -f markdown -t docx)", ok=ratio <= 0.5, notes=[version],
    )
