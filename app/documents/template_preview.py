"""Templates previewed against the demo incident, without saving anything.

The demo incident (`hindsight demo`) is what a template is tried on: its own data when it is
loaded and the viewer may see it, otherwise the same facts built in memory from app/demo.py.
Nothing here writes to the database. Custom bodies render through the same sandboxed,
limited child process as a retro's document (`templating.render_custom`), so a template
that loops for ever or builds huge text is stopped in a preview as it would be in a retro.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.demo import DEMO_EXTERNAL_ID, IMPACT_MINUTES, PEOPLE, RESOLVED_MINUTE, ROLES, STARTED_AGO, TIMELINE
from app.documents import templating
from app.documents.service import custom_template, render_limits, render_template, template_context
from app.documents.service.context import ROLE_LABELS, _duration, _when
from app.incidents.access import visible_incidents
from app.incidents.models import SINGLE_HOLDER_ROLES, Incident
from app.retros.calendar import WorkCalendar
from config import Settings

# The demo incident's own words, as app/demo.py's load_demo writes them (a test holds the two together).
DEMO_TITLE = "Checkout outage: orders database failover stalled"
DEMO_SEVERITY = "SEV1"
DEMO_FIRST_COMMANDER = "dev.patel@example.com"
DEMO_FACILITATOR = "facilitator@example.com"
DEMO_DESCRIPTION = (
    "The orders database primary ran out of memory under a new reporting query. Automatic "
    "failover did not trigger and the manual failover stalled on fencing, so 41% of checkouts "
    "failed for 39 minutes."
)
DEMO_LINKS = [
    {"title": "Checkout dashboard", "url": "https://grafana.example.com/d/checkout"},
    {"title": "Failover runbook", "url": "https://wiki.example.com/runbooks/orders-db-failover"},
    {"title": "Incident channel #inc-orders-db", "url": "https://chat.example.com/archives/inc-orders-db"},
]


@dataclass(frozen=True)
class Preview:
    """A template filled in with the demo incident: its sections, or why each body was refused."""

    sections: list[templating.RenderedSection] = field(default_factory=list)
    # One entry a section (None where the body is fine); empty for a saved template.
    problems: list[str | None] = field(default_factory=list)
    # Whether the facts came from the demo incident in the database (else built in memory).
    loaded: bool = False

    @property
    def refused(self) -> bool:
        return any(self.problems)


def demo_context(session: Session, *, viewer: User, settings: Settings) -> tuple[dict[str, Any], bool]:
    """What a template sees for the demo incident, and whether it came from the database.

    The loaded demo is used when `viewer` may see it and it has a retro; otherwise the same
    facts are built in memory (`demo_facts`).
    """
    incident = session.scalar(
        select(Incident).where(Incident.external_id == DEMO_EXTERNAL_ID, visible_incidents(viewer))
    )
    if incident is not None and incident.retrospective is not None:
        return template_context(session, retro=incident.retrospective, settings=settings), True
    return demo_facts(settings=settings), False


def demo_facts(*, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """The demo incident's facts as a template context, built in memory as `hindsight demo` would load them."""
    start = ((now or datetime.now(UTC)) - STARTED_AGO).replace(second=0, microsecond=0)
    resolved = start + timedelta(minutes=RESOLVED_MINUTE)
    local_start = start.astimezone(settings.zone)
    impact = (f"{local_start:%H:%M} to {local_start + timedelta(minutes=IMPACT_MINUTES):%H:%M} "
              f"{local_start.tzname() or settings.timezone}")
    names = dict(PEOPLE)

    def person(email: str) -> dict[str, str]:
        return {"name": names[email], "email": email}

    team = _team([(DEMO_FIRST_COMMANDER, "commander", 0), *sorted(ROLES, key=lambda r: r[2])], start, names, settings)
    commander = next(member for member in reversed(team) if member["role"] == "commander")
    responders = list({member["email"]: person(member["email"]) for member in team}.values())
    # The retro was booked with the people in the order their roles were given (the first commander, then ROLES).
    participants = list({email: person(email) for email in [DEMO_FIRST_COMMANDER, *(r[0] for r in ROLES)]}.values())
    deadline = WorkCalendar.from_settings(settings).add_working_days(resolved, settings.retro.deadline_days)
    return {
        "incident": {
            "id": 0, "title": DEMO_TITLE, "severity": DEMO_SEVERITY, "status": "resolved", "visibility": "public",
            "description": DEMO_DESCRIPTION, "commander": person(commander["email"]),
            "started_at": _when(start, settings), "detected_at": _when(start, settings),
            "resolved_at": _when(resolved, settings), "time_to_detect": _duration(start, start),
            "duration": _duration(start, resolved), "url": f"{settings.base_url}/incidents",
        },
        "retro": {
            "id": 0, "deadline_at": _when(deadline, settings), "scheduled_for": "",
            "facilitator": person(DEMO_FACILITATOR), "participants": participants,
        },
        "team": team,
        "responders": responders,
        "links": [dict(link) for link in DEMO_LINKS],
        "ground_rules": list(settings.retro.ground_rules),
        "timeline": [
            {"when": _when(start + timedelta(minutes=minute), settings), "text": text.format(impact=impact),
             "author": author, "kind": kind}
            for minute, kind, author, text in TIMELINE
        ],
    }


def _team(roles: Sequence[tuple[str, str, int]], start: datetime, names: Mapping[str, str],
          settings: Settings) -> list[dict[str, str]]:
    """The roles in the order they began; a single-holder role given to someone else is a handoff."""
    team: list[dict[str, str]] = []
    for email, role, minute in roles:
        at = _when(start + timedelta(minutes=minute), settings)
        if role in SINGLE_HOLDER_ROLES:
            for earlier in team:
                if earlier["role"] == role and not earlier["until"]:
                    earlier.update(until=at, handed_to=names[email])
        team.append({"name": names[email], "email": email, "role": role,
                     "role_label": ROLE_LABELS.get(role, role.replace("_", " ")), "from": at, "until": "",
                     "handed_to": ""})
    return team


def preview_saved(session: Session, *, name: str, viewer: User, settings: Settings) -> Preview:
    """Template `name` filled in with the demo incident, as a retro's document would be.

    A custom one is checked first, as a draft is: a stored body that misbehaves (stored before a
    rule existed) gives its reason in `problems` rather than a placeholder naming an exception.
    """
    custom = custom_template(session, name)
    if custom is not None:
        return preview_draft(session, sections=custom.sections, viewer=viewer, settings=settings)
    context, loaded = demo_context(session, viewer=viewer, settings=settings)
    return Preview(sections=render_template(session, name=name, context=context, settings=settings), loaded=loaded)


def preview_draft(session: Session, *, sections: Sequence[Mapping[str, str]], viewer: User,
                  settings: Settings) -> Preview:
    """Unsaved sections (`key`, `title`, `body`) checked as on saving, then filled in with the demo incident.

    A body the sandbox refuses gives its reason in `problems` and nothing is rendered.
    """
    context, loaded = demo_context(session, viewer=viewer, settings=settings)
    limits = render_limits(settings)
    problems = templating.check_sources([s["body"] for s in sections], context, limits=limits)
    if any(problems):
        return Preview(problems=problems, loaded=loaded)
    rendered = templating.render_custom(sections, context, name="preview", limits=limits)
    return Preview(sections=rendered, problems=problems, loaded=loaded)
