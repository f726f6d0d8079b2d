"""The demo's history: four months of incidents before the demo incident, so the board and the insights
show something real on first run.

A catalogue of twelve services owned by four teams; 32 incidents across severities (two private), each
naming the services it touched and with a short timeline inside its times; their retros
in every state (held in time or late with the override kept, published, scheduled, pending, missed,
withdrawn after a reopening), the held ones with the contributing factors their meeting named; 150+
action items made at the retro's meeting, most filed against the incident's first service, done in
time or late, not done, in progress, open and overdue, each with the history of its status changes. Deterministic for a
given `now`; nothing reaches Jira or mail.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.actions.models import ActionItem, ActionItemChange, ActionStatus, Priority
from app.auth.models import User
from app.incidents.models import Incident, IncidentRole, IncidentStatus, TimelineEvent, Visibility
from app.people.models import Person
from app.retros.calendar import WorkCalendar
from app.retros.flows import book_retrospective
from app.retros.models import RetroFactor, RetroOverride, RetroStatus, RetroStatusChange
from app.services.catalogue import CatalogueRow
from app.services.models import Service
from app.services.service import import_catalogue
from config import Settings

HISTORY_PREFIX = "demo-history-"
SEED = 11

# (title, severity, private, what failed: used in its timeline)
INCIDENTS = [
    ("Search results served stale for six hours", "SEV2", False, "the search indexer"),
    ("Login page timeouts for EU customers", "SEV1", False, "the EU load balancer"),
    ("Card payments declined by the acquirer", "SEV0", False, "the acquirer's gateway"),
    ("Nightly invoice run sent duplicate emails", "SEV2", False, "the invoice scheduler"),
    ("Mobile app crashes on launch after release 7.4", "SEV1", False, "the 7.4 mobile release"),
    ("Warehouse label printing stopped", "SEV2", False, "the label print queue"),
    ("Support export included other customers' tickets", "SEV1", True, "the support export job"),
    ("Checkout latency doubled after the CDN change", "SEV2", False, "the CDN configuration"),
    ("Order confirmation emails delayed by two hours", "SEV2", False, "the mail relay"),
    ("Inventory counts drifted from the warehouse system", "SEV1", False, "the inventory sync"),
    ("Status page itself unreachable during maintenance", "SEV2", False, "the status page host"),
    ("API rate limiter blocked partner integrations", "SEV1", False, "the API rate limiter"),
    ("Password reset links expired immediately", "SEV1", False, "the token signer's clock"),
    ("Recommendations widget showed empty carousels", "SEV2", False, "the recommendations cache"),
    ("Data warehouse load failed three nights running", "SEV2", False, "the warehouse loader"),
    ("Full outage: DNS records deleted by automation", "SEV0", False, "the DNS automation"),
    ("Refunds queued but never sent to the bank", "SEV1", False, "the refunds worker"),
    ("Admin console slow for large accounts", "SEV2", False, "the admin console queries"),
    ("Leaked API key found in a public repository", "SEV0", True, "a committed API key"),
    ("Shipping quotes missing for two carriers", "SEV2", False, "the carrier quote client"),
    ("Push notifications sent twice to iOS users", "SEV2", False, "the push notification worker"),
    ("Kubernetes nodes evicted under memory pressure", "SEV1", False, "the cluster autoscaler"),
    ("Tax calculation wrong for Canadian orders", "SEV1", False, "the tax rules update"),
    ("Image uploads failing with 502 errors", "SEV2", False, "the image resizing service"),
    ("Message queue backlog delayed order processing", "SEV1", False, "the order queue consumers"),
    ("Partner webhooks signed with the old secret", "SEV2", False, "the webhook signer"),
    ("Database failover drill caused 8 minutes of errors", "SEV1", False, "the failover drill"),
    ("Loyalty points not credited after purchases", "SEV2", False, "the loyalty ledger"),
    ("Feature flag service outage disabled checkout", "SEV0", False, "the feature flag service"),
    ("Customer chat widget failed to load", "SEV2", False, "the chat widget script"),
    ("Reports dashboard showed yesterday's figures", "SEV2", False, "the reporting pipeline"),
    ("Gift card balance checks timing out", "SEV1", False, "the gift card service"),
]
# (name, team, description): the catalogue the incidents name.
SERVICES = [
    ("checkout-api", "payments", "Basket, checkout and order placement"),
    ("payment-gateway", "payments", "Card payments, refunds and the acquirer connection"),
    ("orders-db", "payments", "The orders PostgreSQL cluster"),
    ("edge-network", "platform", "CDN, load balancers, DNS and the API rate limiter"),
    ("kubernetes", "platform", "The production clusters"),
    ("message-queue", "platform", "The order and notification queues"),
    ("feature-flags", "platform", "The feature flag service"),
    ("auth-service", "identity", "Sign-in, sessions, password resets and API keys"),
    ("notifications", "identity", "Email, push and partner webhooks"),
    ("mobile-app", "identity", "The iOS and Android apps"),
    ("search", "data", "Product search and recommendations"),
    ("reporting-pipeline", "data", "The warehouse loads, exports and reports"),
]
# By the place of each incident in INCIDENTS: the services it touched, and the contributing factors its
# retro's meeting named (only a held retro has them), each with its note.
DETAILS: list[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = [
    (("search",), (("monitoring.missing_signal", "Index freshness was not measured"), ("dependency.internal", "The indexer waited on a stuck export"))),
    (("edge-network", "auth-service"), (("capacity.traffic", "A marketing push doubled EU logins"), ("configuration.wrong_value", "EU pool sized for the old peak"))),
    (("payment-gateway",), (("dependency.third_party", "The acquirer rotated certificates without notice"), ("monitoring.no_alert", "Declines were not alerted on"))),
    (("notifications",), (("change.code", "A retry wrapped a non-idempotent send"), ("process.review", "The retry path had no test"))),
    (("mobile-app",), (("change.deploy", "Released to 100% at once"), ("process.review", "The crash only showed on older devices"))),
    (("message-queue",), (("dependency.internal", "The print consumer lost its queue binding"), ("knowledge.documentation", "Nobody knew which queue the printers read"))),
    (("reporting-pipeline",), (("change.code", "A filter was dropped in a refactor"), ("process.review", "Exports had no tenant-isolation test"))),
    (("edge-network", "checkout-api"), (("change.infrastructure", "The CDN change bypassed the cache for the basket"), ("monitoring.misleading", "The latency dashboard averaged it away"))),
    (("notifications", "message-queue"), (("capacity.exhaustion", "The relay hit its connection limit"), ("monitoring.noise", "The backlog alert fires daily and is ignored"))),
    (("orders-db",), (("dependency.internal", "The warehouse sync skipped failed batches"), ("knowledge.assumption", "Counts were assumed to reconcile nightly"))),
    (("edge-network",), (("process.coordination", "Maintenance was not announced to the status page owners"), ("configuration.access", "Only one team could change the host"))),
    (("edge-network",), (("configuration.wrong_value", "Partner limits copied from the public tier"), ("capacity.quota", "Burst quota too small for batch partners"))),
    (("auth-service",), (("configuration.drift", "One host's clock drifted by an hour"), ("knowledge.unfamiliar", "Few knew the signer read the local clock"))),
    (("search",), (("capacity.exhaustion", "The recommendations cache evicted everything"),)),
    (("reporting-pipeline",), (("monitoring.no_alert", "Failed loads only logged"), ("process.escalation", "Nobody on call owned the loader"))),
    (("edge-network",), (("change.infrastructure", "The cleanup automation matched production records"), ("process.rollback", "No quick way to restore the zone"), ("knowledge.single_expert", "One person knew how to rebuild the records"))),
    (("payment-gateway", "message-queue"), (("change.code", "A worker change dropped the send step"), ("monitoring.no_alert", "Queued refunds were not counted"))),
    (("orders-db",), (("capacity.traffic", "Large accounts grew tenfold this year"), ("knowledge.assumption", "The console was assumed to page its queries"))),
    (("auth-service",), (("process.review", "Secrets scanning was not on for that repository"), ("knowledge.documentation", "The key's owner was not written down"))),
    (("checkout-api",), (("dependency.third_party", "Two carriers changed their quote API"),)),
    (("notifications", "mobile-app"), (("change.code", "The worker acknowledged after sending"), ("dependency.library", "A client library upgrade changed retries"))),
    (("kubernetes",), (("capacity.scaling", "The autoscaler added nodes too slowly"), ("configuration.wrong_value", "Memory requests far below real use"))),
    (("checkout-api",), (("change.code", "The tax rules update missed a province"), ("process.review", "No test case for Canada"))),
    (("kubernetes",), (("capacity.exhaustion", "The resizer ran out of memory on large images"),)),
    (("message-queue", "orders-db"), (("capacity.traffic", "A sale tripled orders"), ("monitoring.noise", "The backlog alert was muted"))),
    (("notifications",), (("configuration.expiry", "The old secret was still configured for partners"), ("process.runbook", "The rotation runbook skipped webhooks"))),
    (("orders-db",), (("process.runbook", "The drill runbook was out of date"), ("change.deploy", "The drill ran during a deploy"))),
    (("checkout-api",), (("dependency.internal", "The loyalty ledger timed out silently"),)),
    (("feature-flags", "checkout-api"), (("dependency.internal", "Checkout failed closed when flags were unreachable"), ("process.rollback", "No way to pin flag values"))),
    (("mobile-app",), (("dependency.third_party", "The chat vendor's script failed to load"),)),
    (("reporting-pipeline",), (("monitoring.missing_signal", "Report freshness was not measured"),)),
    (("payment-gateway",), (("capacity.quota", "The gift card provider's rate limit"),)),
]
RESPONDERS = ["maya.chen@example.com", "dev.patel@example.com", "sofia.rossi@example.com",
              "liam.oconnor@example.com", "nora.berg@example.com", "sam.okafor@example.com"]
FACILITATOR = "facilitator@example.com"
ITEM_TITLES = [
    "Add an alert on {thing} error rate", "Write a runbook for {thing}", "Add a canary stage for {thing}",
    "Load test {thing} at twice peak traffic", "Remove the manual step from {thing} recovery",
    "Add a dashboard for {thing}", "Document the owner of {thing}", "Add a rollback switch to {thing}",
    "Review timeouts and retries in {thing}", "Add a synthetic check for {thing}",
]
# The retro's fate by the incident's place from the oldest: most held (some late), the newest still ahead.
WITHDRAWN_AT = (26, 28)
MISSED_AT = (12, 24)
SCHEDULED_AT = (30,)
PENDING_AT = (29, 31)
RECENT_DAYS_AGO = {29: 3.5, 30: 2.2, 31: 1.2}


def _days_ago(place: int) -> float:
    """How long ago the incident at `place` (0 = the oldest) started: four months to a day."""
    return RECENT_DAYS_AGO.get(place, 122 - place * 4)


def load_catalogue(session: Session) -> None:
    """The demo's services and teams (an import: loading it again changes nothing)."""
    import_catalogue(session, rows=[CatalogueRow(name, team, description, where="demo") for name, team, description in SERVICES])


def load_history(session: Session, *, settings: Settings, now: datetime, admin: User) -> list[Incident]:
    """Add the history (once: the caller checks that the demo is not loaded yet, and loads the catalogue
    first); returns its incidents."""
    rng = random.Random(SEED)
    people = {person.email: person
              for person in session.scalars(select(Person).where(Person.email.in_([*RESPONDERS, FACILITATOR])))}
    calendar = WorkCalendar.from_settings(settings)
    services = {service.name: service for service in session.scalars(select(Service))}
    loaded = []
    for place, (title, severity, private, thing) in enumerate(INCIDENTS):
        incident = _incident(session, rng, place=place, title=title, severity=severity, private=private, thing=thing,
                             people=people, now=now)
        incident.services = [services[name] for name in DETAILS[place][0]]
        _retro(session, rng, incident=incident, place=place, thing=thing, people=people, settings=settings,
               calendar=calendar, now=now, admin=admin)
        loaded.append(incident)
    return loaded


def _incident(session: Session, rng: random.Random, *, place: int, title: str, severity: str, private: bool, thing: str,
              people: dict[str, Person], now: datetime) -> Incident:
    day = (now - timedelta(days=_days_ago(place))).astimezone(now.tzinfo)
    started = day.replace(hour=rng.randint(7, 20), minute=rng.choice((2, 14, 27, 41, 53)), second=0, microsecond=0)
    minutes = rng.choice((35, 50, 75, 95, 140, 210, 320))
    started = min(started, now - timedelta(minutes=minutes, hours=3))  # resolved before the demo is loaded
    resolved = started + timedelta(minutes=minutes)
    team = rng.sample(RESPONDERS, rng.randint(2, 4))
    incident = Incident(
        title=title, severity=severity, status=IncidentStatus.RESOLVED,
        visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
        description=f"{thing[0].upper()}{thing[1:]} failed; see the timeline for the impact and the fix.",
        external_id=f"{HISTORY_PREFIX}{place}", started_at=started, detected_at=started + timedelta(minutes=3),
        resolved_at=resolved, created_at=started + timedelta(minutes=4), updated_at=resolved,
    )
    for index, (email, role) in enumerate(zip(team, ("commander", "scribe", "subject_matter_expert",
                                                     "communications_lead"))):
        incident.roles.append(IncidentRole(person=people[email], role=role, started_at=started + timedelta(minutes=4 + index)))
    commander = people[team[0]].name
    events = [
        (0, "detection", "PagerDuty", f"Alert: error rate of {thing} above its SLO."),
        (4, "escalation", commander, f"Declared {severity}; took command."),
        (minutes * 2 // 3, "mitigation", commander, f"Mitigated: {thing} back within its SLO."),
        (minutes, "resolution", commander, "Resolved; retro to follow."),
    ]
    session.add(incident)
    session.flush()
    for index, (minute, kind, author, text) in enumerate(events):
        session.add(TimelineEvent(incident_id=incident.id, occurred_at=started + timedelta(minutes=minute), kind=kind, author=author,
                                  text=text, source="demo", external_id=f"{HISTORY_PREFIX}{place}-{index}",
                                  created_at=resolved))
    return incident


def _retro(session: Session, rng: random.Random, *, incident: Incident, place: int, thing: str, people: dict[str, Person],
           settings: Settings, calendar: WorkCalendar, now: datetime, admin: User) -> None:
    assert incident.resolved_at is not None
    retro = book_retrospective(session, incident=incident, settings=settings)
    retro.facilitator = people[FACILITATOR]
    retro.created_at = retro.updated_at = incident.resolved_at + timedelta(minutes=1)
    if place in WITHDRAWN_AT:
        # Reopened a few hours after it was resolved: the unscheduled retro was withdrawn, the fix goes on.
        reopened = incident.resolved_at + timedelta(hours=3)
        session.add(TimelineEvent(incident_id=incident.id, occurred_at=reopened, kind="escalation", author="PagerDuty",
                                  text=f"Reopened: errors from {thing} are back.", source="demo",
                                  external_id=f"{HISTORY_PREFIX}{place}-reopened", created_at=reopened))
        incident.status, incident.resolved_at, incident.updated_at = IncidentStatus.IDENTIFIED, None, reopened
        retro.status = RetroStatus.WITHDRAWN
        return
    if place in MISSED_AT or place in PENDING_AT:
        return  # pending: missed its deadline long ago, or still within it
    slot = retro.suggested_slot or retro.target_at
    if place in SCHEDULED_AT:  # booked for a meeting still ahead
        slot = calendar.earliest_slot(max(slot, now + timedelta(hours=1)), settings.retro.meeting_minutes)
    elif rng.random() < 0.25:  # held late: the team chose a later day and said why
        slot = calendar.earliest_slot(retro.deadline_at + timedelta(days=rng.randint(1, 4)), settings.retro.meeting_minutes)
    if slot > retro.deadline_at:
        retro.overrides.append(RetroOverride(rule="retro_past_deadline", reason="The team was at the quarterly offsite.",
                                             detail=slot.isoformat(), by_id=admin.person_id, at=incident.resolved_at
                                             + timedelta(hours=3)))
    retro.scheduled_for = slot
    if place in SCHEDULED_AT or slot + timedelta(hours=2) > now:
        retro.status = RetroStatus.SCHEDULED
        return
    retro.status = RetroStatus.PUBLISHED if place % 3 == 0 else RetroStatus.COMPLETED
    retro.updated_at = slot + timedelta(hours=1)
    # Completed by its facilitator at the meeting's end, as the meeting page records it.
    retro.history.append(RetroStatusChange(previous=RetroStatus.SCHEDULED, status=RetroStatus.COMPLETED,
                                           by_id=retro.facilitator_id, at=retro.updated_at))
    for minute, (key, note) in enumerate(DETAILS[place][1]):
        retro.factors.append(RetroFactor(category=key.partition(".")[0], factor_key=key, note=note,
                                         by_id=retro.facilitator_id, at=slot + timedelta(minutes=20 + minute)))
    _items(session, rng, retro_id=retro.id, made=slot + timedelta(minutes=50), count=5 + place * 3 % 5, thing=thing,
           owners=incident.responders(), settings=settings, now=now, admin=admin,
           service_id=incident.services[0].id if incident.services else None)


def _items(session: Session, rng: random.Random, *, retro_id: int, made: datetime, count: int, thing: str,
           owners: list[Person], settings: Settings, now: datetime, admin: User, service_id: int | None) -> None:
    """`count` items made at the meeting's end, and their status changes up to `now`; all but every third one
    filed against `service_id` (the incident's first service)."""
    titles = rng.sample(ITEM_TITLES, count)
    items, changes = [], []
    for number, title in enumerate(titles):
        due = (made + timedelta(days=rng.choice((3, 7, 10, 14, 21, 28, 35)))).date()
        fate = rng.random()
        item = ActionItem(
            retrospective_id=retro_id, title=title.format(thing=thing), owner=rng.choice(owners), due_date=due,
            status=ActionStatus.OPEN, priority=rng.choice(list(Priority)),
            oversized=(due - made.date()).days > settings.action_items.max_weeks * 7,
            created_at=made, updated_at=made, service_id=service_id if number % 3 != 2 else None,
        )
        steps: list[tuple[datetime, str]] = []
        if fate < 0.45:  # done by the due date
            steps = [(made + (datetime.combine(due, made.timetz()) - made) * rng.uniform(0.3, 0.95), ActionStatus.DONE)]
        elif fate < 0.62:  # done late
            steps = [(datetime.combine(due, made.timetz()) + timedelta(days=rng.randint(2, 12)), ActionStatus.DONE)]
        elif fate < 0.70:
            steps = [(made + timedelta(days=rng.randint(1, 6)), ActionStatus.WONT_DO)]
        elif fate < 0.82:
            steps = [(made + timedelta(days=rng.randint(1, 5)), ActionStatus.IN_PROGRESS)]
        if steps and steps[0][1] == ActionStatus.DONE and rng.random() < 0.5:
            steps.insert(0, (made + (steps[0][0] - made) / 3, ActionStatus.IN_PROGRESS))
        items.append((item, [(at, status) for at, status in steps if at <= now]))
    session.add_all([item for item, _ in items])
    session.flush()
    for item, steps in items:
        changes.append(ActionItemChange(action_item_id=item.id, field="created", new=item.title, via="system",
                                        actor_id=admin.person_id, at=made))
        status: str = ActionStatus.OPEN
        for at, new in steps:
            changes.append(ActionItemChange(action_item_id=item.id, field="status", old=status, new=new, via="web",
                                            actor_id=item.owner.id, at=at))
            status = new
        item.status = status
        item.updated_at = steps[-1][0] if steps else made
    session.add_all(changes)
    session.flush()
