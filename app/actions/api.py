"""JSON routes of the actions domain: action items, their history, the Jira webhook and sync."""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, request

from app.actions import flows, service
from app.actions.schemas import (
    ActionItemCreate, ActionItemList, ActionItemQuery, ActionItemRead, ActionItemSplit, ActionItemUpdate,
    ChangeRead, HistoryRead, SplitResult, SyncCounts,
)
from app.actions.sync import run_sync
from app.core.api import endpoint, parse_json
from app.core.errors import Unauthorized
from app.db import database, get_session
from app.extensions import settings
from app.retros.service import get_retrospective

bp = Blueprint("actions_api", __name__, url_prefix="/api/v1")
TAGS = ("action items",)


def _via() -> str:
    """API clients send a Bearer token; our own pages use the signed-in cookie."""
    return "api" if request.headers.get("Authorization") else "web"


@bp.post("/retrospectives/<int:retro_id>/action-items")
@endpoint("Add an action item (owner and due date required); answers with warnings", body=ActionItemCreate,
          response=ActionItemRead, status=201, tags=TAGS)
def create_action_item(user, retro_id: int, body: ActionItemCreate):
    session = get_session()
    retro = get_retrospective(session, viewer=user, retro_id=retro_id)
    item, warnings = flows.create_item(session, retro=retro, data=body, actor=user, via=_via(), settings=settings())
    return ActionItemRead.of(item, warnings)


@bp.get("/action-items")
@endpoint("List the action items you may see, by due date, a page at a time", query=ActionItemQuery,
          response=ActionItemList, tags=TAGS)
def list_action_items(user, query: ActionItemQuery):
    items, total, next_cursor = service.list_items(
        get_session(), viewer=user, settings=settings(), owner=query.owner, status=query.status,
        overdue=query.overdue, retrospective_id=query.retrospective_id, limit=query.limit, cursor=query.cursor,
    )
    return ActionItemList(items=[ActionItemRead.model_validate(i) for i in items], total=total, next_cursor=next_cursor)


@bp.get("/action-items/<int:item_id>")
@endpoint("Get an action item", response=ActionItemRead, tags=TAGS)
def get_action_item(user, item_id: int):
    return ActionItemRead.model_validate(service.get_item(get_session(), viewer=user, item_id=item_id))


@bp.patch("/action-items/<int:item_id>")
@endpoint("Change an action item; every change is kept in its history and sent to Jira",
          body=ActionItemUpdate, response=ActionItemRead, tags=TAGS)
def update_action_item(user, item_id: int, body: ActionItemUpdate):
    session = get_session()
    item = service.get_item(session, viewer=user, item_id=item_id, for_update=True)
    warnings = flows.update_item(session, item=item, data=body, actor=user, via=_via(), settings=settings())
    return ActionItemRead.of(item, warnings)


@bp.post("/action-items/<int:item_id>/split")
@endpoint("Split an action item into smaller ones linked to it", body=ActionItemSplit, response=SplitResult,
          status=201, tags=TAGS)
def split_action_item(user, item_id: int, body: ActionItemSplit):
    session = get_session()
    item = service.get_item(session, viewer=user, item_id=item_id, for_update=True)
    created, warnings = flows.split_item(session, item=item, data=body, actor=user, via=_via(), settings=settings())
    return SplitResult(
        original=ActionItemRead.model_validate(item),
        items=[ActionItemRead.of(c, w) for c, w in zip(created, warnings)],
    )


@bp.post("/action-items/<int:item_id>/sync")
@endpoint("Push one action item to Jira now (backoff ignored); answers the item with its sync state",
          response=ActionItemRead, tags=("jira",))
def sync_action_item(user, item_id: int):
    session = get_session()
    item = service.get_item(session, viewer=user, item_id=item_id)
    flows.retry_push(session, item=item, settings=settings())
    return ActionItemRead.model_validate(item)


@bp.get("/action-items/<int:item_id>/history")
@endpoint("Every change of an action item: who, what, from, to, via web, API, Jira or the system",
          response=HistoryRead, tags=TAGS)
def action_item_history(user, item_id: int):
    session = get_session()
    item = service.get_item(session, viewer=user, item_id=item_id)
    return HistoryRead(items=[ChangeRead.model_validate(c) for c in service.history(session, item=item)])


def _verify_webhook(secret: str, raw: bytes) -> None:
    """Jira's X-Hub-Signature (HMAC-SHA256 of the raw body), or a `secret` query parameter for
    Jira versions that cannot sign; compared in constant time."""
    if not secret:
        raise Unauthorized("The Jira webhook is refused: no webhook secret is configured "
                           "(HINDSIGHT_JIRA_WEBHOOK_SECRET).", code="webhook_refused")
    signature = request.headers.get("X-Hub-Signature")
    if signature is not None:
        expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature.strip().lower().encode(), expected.encode()):
            return
    else:
        given = request.args.get("secret", "")
        if given and hmac.compare_digest(given.encode(), secret.encode()):
            return
    raise Unauthorized("The webhook's signature does not match the configured secret.", code="invalid_signature")


@bp.post("/integrations/jira/webhook")
@endpoint("Receive a Jira webhook (signed with X-Hub-Signature); applies assignee, due date and status",
          status=204, auth=False, tags=("jira",), errors=(401, 413))
def jira_webhook():
    config = settings()
    raw = request.get_data(cache=True)
    _verify_webhook(config.jira.webhook_secret, raw)
    payload = parse_json(raw, what="webhook body")
    flows.handle_webhook(get_session(), payload=payload,
                   identifier=request.headers.get("X-Atlassian-Webhook-Identifier"), settings=config)
    return None, 204


@bp.post("/sync/jira")
@endpoint("Push every pending change to Jira now (backoff timers ignored), then pull (admins)",
          response=SyncCounts, tags=("jira",), admin=True)
def sync_jira(user):
    config = settings()
    factory = database().session_factory
    assert factory is not None
    return SyncCounts.model_validate(run_sync(factory, settings=config, force=True))
