"""Intake tests: an app with the three webhook secrets set, and senders that post signed bodies to it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.fakes import paging

PD_SECRET = "pd-webhook-secret"
ROOTLY_SECRET = "rootly-webhook-secret"
INCIDENTIO_SECRET = paging.incidentio_secret()
SECRETS = {
    "pagerduty": {"webhook_secret": PD_SECRET},
    "rootly": {"webhook_secret": ROOTLY_SECRET},
    "incidentio": {"webhook_secret": INCIDENTIO_SECRET},
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(SECRETS)


class Senders:
    """Posts sender payloads, signed as the sender signs them, through the Flask test client."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def pagerduty(self, payload: dict[str, Any], *secrets: str):  # type: ignore[no-untyped-def]
        body = paging.body_of(payload)
        return self.client.post("/api/v1/integrations/pagerduty/webhook", data=body,
                                headers=paging.sign_pagerduty(body, *(secrets or (PD_SECRET,))))

    def rootly(self, payload: dict[str, Any], *, timestamp: int | None = None):  # type: ignore[no-untyped-def]
        body = paging.body_of(payload)
        return self.client.post("/api/v1/integrations/rootly/webhook", data=body,
                                headers=paging.sign_rootly(body, ROOTLY_SECRET, timestamp=timestamp))

    def incidentio(self, payload: dict[str, Any], *, message_id: str | None = None, timestamp: int | None = None):  # type: ignore[no-untyped-def]
        body = paging.body_of(payload)
        return self.client.post("/api/v1/integrations/incidentio/webhook", data=body,
                                headers=paging.sign_incidentio(body, INCIDENTIO_SECRET, message_id=message_id,
                                                               timestamp=timestamp))


@pytest.fixture
def send(client: FlaskClient) -> Senders:
    return Senders(client)


def incident_by_external_id(client: FlaskClient, auth: dict[str, str], external_id: str) -> list[dict[str, Any]]:
    """The incidents an admin sees with this external id (read through the API)."""
    items = client.get("/api/v1/incidents", headers=auth).get_json()["items"]
    return [item for item in items if item["external_id"] == external_id]


def timeline(client: FlaskClient, auth: dict[str, str], incident_id: int) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/incidents/{incident_id}/timeline", headers=auth).get_json()["items"]
