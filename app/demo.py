"""`hindsight demo`: a realistic SEV1 database failover outage, resolved, with its retro booked, after
four months of history (app/demo_history.py) for the board and the insights."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.flows import create_item
from app.actions.schemas import ActionItemCreate
from app.auth.service import create_user, find_user
from app.incidents import flows as incident_flows, service as incidents
from app.incidents.models import Incident
from app.incidents.schemas import EventCreate, IncidentCreate, IncidentUpdate, LinkIn
from app.demo_history import load_catalogue, load_history
from app.people.service import get_or_create_person
from app.retros.flows import update_retrospective
from app.retros.schemas import RetroUpdate
from config import Settings

DEMO_EXTERNAL_ID = "demo-db-failover"
# The services the demo outage touched (from the history's catalogue, loaded first).
DEMO_SERVICES = ("checkout-api", "orders-db")
DEMO_LOGIN = ("admin@example.com", "hindsight-demo")

PEOPLE = [
    ("admin@example.com", "Alex Admin"),
    ("maya.chen@example.com", "Maya Chen"),
    ("dev.patel@example.com", "Dev Patel"),
    ("sofia.rossi@example.com", "Sofia Rossi"),
    ("liam.oconnor@example.com", "Liam O'Connor"),
    ("nora.berg@example.com", "Nora Berg"),
    ("sam.okafor@example.com", "Sam Okafor"),
    ("facilitator@example.com", "Jordan Lee"),
]

# Minutes after the start: checkouts failed until the mitigation, the incident was resolved at the end.
IMPACT_MINUTES = 39
RESOLVED_MINUTE = 110
# The demo incident started this long before the demo is loaded, so its retro is still ahead.
STARTED_AGO = timedelta(hours=3)

# (minutes after the start, kind, author, text)
TIMELINE = [
    (0, "detection", "PagerDuty", "Alert: checkout-api p99 latency above 2 s for 5 minutes (SLO burn rate 14x)."),
    (1, "detection", "PagerDuty", "Alert: orders-db primary replication lag 45 s on replica orders-db-2."),
    (2, "escalation", "Dev Patel", "Acknowledged the page; on-call for payments. Looking at checkout-api dashboards."),
    (4, "note", "Dev Patel", "Checkout error rate 18% and climbing; errors are connection timeouts to orders-db."),
    (5, "escalation", "Dev Patel", "Declared SEV2 in #inc-orders-db and took incident command."),
    (7, "note", "Dev Patel", "orders-db primary CPU at 100%, 1,900 active connections against a pool limit of 2,000."),
    (9, "note", "Sofia Rossi", "Joined from the database team. Primary is swapping; autovacuum running on orders_items."),
    (11, "escalation", "Dev Patel", "Raised to SEV1: checkout failure rate 41%, customers cannot pay."),
    (12, "role", "Dev Patel", "Paged the incident commander rota for a dedicated commander."),
    (13, "communication", "Liam O'Connor", "Posted 'Investigating checkout errors' on the public status page."),
    (15, "note", "Sofia Rossi", "Automatic failover did not trigger: the health check still passes because the primary answers SELECT 1."),
    (16, "role", "Maya Chen", "Commander handoff: Maya Chen takes command from Dev Patel, who stays on as subject matter expert."),
    (18, "decision", "Maya Chen", "Decision: fail over manually to orders-db-2 once its lag is under 5 s; payments writes paused first."),
    (19, "action", "Dev Patel", "Enabled the checkout maintenance flag: new orders queued client-side for up to 10 minutes."),
    (21, "note", "Sofia Rossi", "Replica orders-db-2 lag down to 12 s with writes paused."),
    (23, "note", "Sofia Rossi", "Replica lag 3 s. Ready to promote."),
    (24, "action", "Sofia Rossi", "Ran the failover runbook: promoting orders-db-2."),
    (26, "note", "Sofia Rossi", "Promotion stalled: the failover script waits for the old primary to fence itself and it does not answer."),
    (28, "decision", "Maya Chen", "Decision: fence the old primary at the network layer (security group) and continue."),
    (30, "action", "Nora Berg", "Removed orders-db-1 from the database security group."),
    (31, "note", "Sofia Rossi", "Promotion completed; orders-db-2 is primary and accepting writes."),
    (33, "action", "Dev Patel", "Rolled the checkout-api connection pools to pick up the new primary DNS record."),
    (35, "note", "Dev Patel", "Half of the checkout-api pods still hold connections to the old primary: DNS TTL is 300 s in the driver cache."),
    (36, "action", "Dev Patel", "Restarted the remaining checkout-api pods."),
    (39, "mitigation", "Dev Patel", "Checkout error rate back under 1%."),
    (40, "action", "Dev Patel", "Disabled the maintenance flag; queued orders are replaying."),
    (42, "communication", "Liam O'Connor", "Status page: 'A fix has been implemented and we are monitoring'."),
    (45, "note", "Sam Okafor", "Support: 230 tickets about failed payments; macro with apology and retry guidance sent."),
    (48, "note", "Dev Patel", "Queued order replay finished: 1,412 orders placed, 37 failed on expired card tokens."),
    (52, "note", "Sofia Rossi", "New replica orders-db-3 provisioning from snapshot to restore redundancy."),
    (58, "note", "Nora Berg", "Confirmed the old primary was swapping because of a 3x memory growth in a new reporting query."),
    (63, "note", "Sofia Rossi", "Found the reporting query: an unbounded join added in last week's analytics release."),
    (66, "action", "Nora Berg", "Disabled the analytics export job that runs the query."),
    (70, "note", "Sam Okafor", "Support confirms no new payment failures reported in 25 minutes."),
    (75, "communication", "Maya Chen", "Internal update to #leadership: impact window {impact}, ~41% of checkouts failed."),
    (82, "note", "Sofia Rossi", "orders-db-3 caught up; replication healthy on two replicas."),
    (90, "note", "Dev Patel", "37 failed replays: emailed customers a link to retry their order."),
    (96, "note", "Nora Berg", "Filed a change to make the failover health check run a write, not SELECT 1."),
    (105, "communication", "Liam O'Connor", "Status page: resolved. Post-incident review to follow."),
    (108, "note", "Maya Chen", "Handed the timeline to the scribe for the retro document."),
    (RESOLVED_MINUTE, "resolution", "Maya Chen",
     "Incident resolved. Retro to cover failover fencing, health checks, DNS caching and query review."),
]

# (title, owner, due in days from today, priority, the service it is filed against)
ACTION_ITEMS = [
    ("Make the failover health check run a write, not SELECT 1", "sofia.rossi@example.com", 7, "high", "orders-db"),
    ("Fence the old primary automatically in the failover runbook", "sofia.rossi@example.com", 14, "high", "orders-db"),
    ("Lower the database driver's DNS cache to 30 s in checkout-api", "dev.patel@example.com", 2, "medium", "checkout-api"),
    ("Review query plans of analytics releases before they reach orders-db", "nora.berg@example.com", 21, "medium",
     "orders-db"),
    ("Status page template for payment outages", "liam.oconnor@example.com", -1, "low", None),
]

ROLES = [
    ("dev.patel@example.com", "subject_matter_expert", 16),
    ("maya.chen@example.com", "commander", 16),
    ("sofia.rossi@example.com", "subject_matter_expert", 9),
    ("liam.oconnor@example.com", "communications_lead", 13),
    ("nora.berg@example.com", "scribe", 20),
    ("sam.okafor@example.com", "customer_support_lead", 45),
]


def load_demo(session: Session, *, settings: Settings, now: datetime | None = None) -> tuple[Incident, bool]:
    """Load the demo incident and its history once; returns the incident and whether it was created now."""
    now = now or datetime.now(timezone.utc)
    existing = session.scalar(select(Incident).where(Incident.external_id == DEMO_EXTERNAL_ID))
    if existing is not None:
        return existing, False
    for email, name in PEOPLE:
        get_or_create_person(session, email=email, name=name)
    if find_user(session, email=DEMO_LOGIN[0]) is None:
        create_user(session, email=DEMO_LOGIN[0], password=DEMO_LOGIN[1], is_admin=True,
                    hash_method=settings.auth.password_hash_method)
    load_catalogue(session)
    # Recent, so that the suggested slot and the deadline lie ahead of whoever loads the demo.
    start = (now - STARTED_AGO).replace(second=0, microsecond=0)
    local_start = start.astimezone(settings.zone)
    impact = (f"{local_start:%H:%M} to {local_start + timedelta(minutes=IMPACT_MINUTES):%H:%M} "
              f"{local_start.tzname() or settings.timezone}")
    incident = incidents.create_incident(
        session,
        data=IncidentCreate(
            title="Checkout outage: orders database failover stalled",
            severity="SEV1",
            commander="dev.patel@example.com",
            started_at=start,
            detected_at=start,
            external_id=DEMO_EXTERNAL_ID,
            services=list(DEMO_SERVICES),
            description=(
                "The orders database primary ran out of memory under a new reporting query. Automatic "
                "failover did not trigger and the manual failover stalled on fencing, so 41% of checkouts "
                "failed for 39 minutes."
            ),
            links=[
                LinkIn(title="Checkout dashboard", url="https://grafana.example.com/d/checkout"),
                LinkIn(title="Failover runbook", url="https://wiki.example.com/runbooks/orders-db-failover"),
                LinkIn(title="Incident channel #inc-orders-db", url="https://chat.example.com/archives/inc-orders-db"),
            ],
        ),
    )
    for email, role, minute in ROLES:
        incident_flows.add_role(session, incident=incident, email=email, role=role, started_at=start + timedelta(minutes=minute))
    incidents.add_events(
        session,
        incident=incident,
        events=[
            EventCreate(
                occurred_at=start + timedelta(minutes=minute), kind=kind, author=author, text=text.format(impact=impact),
                external_id=f"demo-{i}",
            )
            for i, (minute, kind, author, text) in enumerate(TIMELINE)
        ],
        source="demo",
    )
    admin = find_user(session, email=DEMO_LOGIN[0])
    assert admin is not None
    incident_flows.update_incident(
        session, incident=incident,
        data=IncidentUpdate(status="resolved", resolved_at=start + timedelta(minutes=RESOLVED_MINUTE)),
        actor=admin, settings=settings,
    )
    retro = incident.retrospective
    if retro is not None and retro.facilitator is None:
        update_retrospective(
            session, retro=retro, data=RetroUpdate(facilitator="facilitator@example.com"), actor=admin, settings=settings
        )
    if retro is not None:
        today = now.date()
        for title, owner, days, priority, service in ACTION_ITEMS:
            create_item(
                session, retro=retro, actor=admin, via="system", settings=settings,
                data=ActionItemCreate(title=title, owner=owner, due_date=today + timedelta(days=days), priority=priority,
                                      service=service),
            )
    load_history(session, settings=settings, now=now, admin=admin)
    return incident, True
