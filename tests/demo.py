"""The demo incident loaded into a test's database, for the page tests that read real-looking pages."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.actions.models import ActionItem
from app.db import get_session
from app.demo import load_demo


def load_demo_ids(app: Flask) -> dict[str, int]:
    """Load the demo (41 timeline events, a retro, five action items); the ids its pages need."""
    with app.app_context():
        session = get_session()
        incident, _ = load_demo(session, settings=app.extensions["hindsight.settings"])
        session.commit()
        retro = incident.retrospective
        assert retro is not None
        item_id = session.scalar(select(ActionItem.id).where(ActionItem.retrospective_id == retro.id)
                                 .order_by(ActionItem.id))
        return {"incident": incident.id, "retro": retro.id, "item": item_id}
