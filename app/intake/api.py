"""JSON routes of intake: the three senders' webhooks (verified by signature, not by token), the generic
`PUT /incidents/external/{source}/{external_id}`, and the stored PagerDuty users (admins)."""

from __future__ import annotations

import re

from flask import Blueprint, request

from app.core.api import endpoint, parse_json
from app.core.errors import ValidationFailed
from app.db import get_session, utcnow
from app.extensions import settings
from app.incidents.schemas import IncidentRead
from app.intake import events, flows, service, signatures
from app.intake.models import Sender
from app.intake.schemas import (
    SOURCE_PATTERN, ExternalIncidentPut, SenderUserList, SenderUserPut, SenderUserRead, WebhookReceived,
)

bp = Blueprint("intake_api", __name__, url_prefix="/api/v1")
TAGS = ("intake",)
WEBHOOK_ERRORS = (401, 413)


def _received(event: events.IntakeEvent | None) -> WebhookReceived:
    outcome = flows.receive(get_session(), event=event, settings=settings())
    return WebhookReceived(outcome=outcome.outcome, incident_id=outcome.incident_id)


@bp.post("/integrations/pagerduty/webhook")
@endpoint("Receive a PagerDuty v3 webhook (signed with X-PagerDuty-Signature); each event is applied once",
          response=WebhookReceived, auth=False, tags=TAGS, errors=WEBHOOK_ERRORS)
def pagerduty_webhook():
    config = settings()
    raw = request.get_data(cache=True)
    signatures.verify_pagerduty(secret=config.pagerduty.webhook_secret,
                                header=request.headers.get("X-PagerDuty-Signature"), body=raw)
    return _received(events.read_pagerduty(parse_json(raw, what="webhook body"), config))


@bp.post("/integrations/rootly/webhook")
@endpoint("Receive a Rootly webhook (signed with X-Rootly-Signature, at most 5 minutes old)",
          response=WebhookReceived, auth=False, tags=TAGS, errors=WEBHOOK_ERRORS)
def rootly_webhook():
    config = settings()
    raw = request.get_data(cache=True)
    signatures.verify_rootly(secret=config.rootly.webhook_secret, header=request.headers.get("X-Rootly-Signature"),
                             body=raw, now=utcnow())
    return _received(events.read_rootly(parse_json(raw, what="webhook body"), config))


@bp.post("/integrations/incidentio/webhook")
@endpoint("Receive an incident.io webhook (Svix signature: webhook-id, webhook-timestamp, webhook-signature)",
          response=WebhookReceived, auth=False, tags=TAGS, errors=WEBHOOK_ERRORS)
def incidentio_webhook():
    config = settings()
    raw = request.get_data(cache=True)
    message_id = request.headers.get("webhook-id")
    signatures.verify_incidentio(
        secret=config.incidentio.webhook_secret, message_id=message_id,
        timestamp=request.headers.get("webhook-timestamp"), header=request.headers.get("webhook-signature"),
        body=raw, now=utcnow(),
    )
    payload = parse_json(raw, what="webhook body")
    return _received(events.read_incidentio(payload, config, message_id=message_id or ""))


def _source(source: str) -> str:
    if not re.match(SOURCE_PATTERN, source):
        raise ValidationFailed("The source is not a short lower-case name.",
                               fields={"source": "must be lower-case letters, digits, '.', '_' or '-', at most 32"})
    return source


@bp.put("/incidents/external/<source>/<external_id>")
@endpoint("Create or update an incident by another tool's id; its external_id is {source}:{external_id}",
          body=ExternalIncidentPut, response=IncidentRead, status=201, also=(200,), tags=TAGS, errors=(409,))
def put_external_incident(user, source: str, external_id: str, body: ExternalIncidentPut):
    incident, created = flows.put_external(
        get_session(), source=_source(source), ref=external_id, data=body, viewer=user, settings=settings(),
    )
    return IncidentRead.model_validate(incident), 201 if created else 200


@bp.get("/integrations/pagerduty/users")
@endpoint("The PagerDuty users matched to people by email (admins)", response=SenderUserList, tags=TAGS, admin=True)
def list_pagerduty_users(user):
    rows = service.stored_users(get_session(), source=Sender.PAGERDUTY)
    return SenderUserList(items=[SenderUserRead.model_validate(row) for row in rows])


@bp.put("/integrations/pagerduty/users/<user_id>")
@endpoint("Match a PagerDuty user id to a person's email (admins); their events are then theirs",
          body=SenderUserPut, response=SenderUserRead, tags=TAGS, admin=True)
def put_pagerduty_user(user, user_id: str, body: SenderUserPut):
    if not re.match(r"^[A-Za-z0-9]{1,64}$", user_id):
        raise ValidationFailed("That is not a PagerDuty user id.", fields={"user_id": "must be letters and digits, like PXPGF42"})
    session = get_session()
    service.remember_user(session, source=Sender.PAGERDUTY, user_id=user_id, email=body.email, looked_up=False)
    stored = service.sender_user(session, source=Sender.PAGERDUTY, user_id=user_id)
    return SenderUserRead.model_validate(stored)
