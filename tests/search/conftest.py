"""A fixed corpus for search: incidents with timelines, written document sections and action items."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

DUE = (date.today() + timedelta(days=30)).isoformat()
START = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)


class Corpus:
    """Builds incidents through the API (as a client would) and keeps their ids by a short name."""

    def __init__(self, factory, client, auth) -> None:  # type: ignore[no-untyped-def]
        self.factory, self.client, self.auth = factory, client, auth
        self.ids: dict[str, int] = {}
        self.retros: dict[str, int] = {}
        self.rita: dict[str, str] = {}

    def incident(self, name: str, *, started: datetime = START, events: tuple[str, ...] = (),
                 sections: dict[str, str] | None = None, items: tuple[tuple[str, str], ...] = (),
                 **fields) -> dict:  # type: ignore[no-untyped-def]
        resolved, retro = self.factory.resolved_incident(
            self.auth, resolved_at=started + timedelta(hours=3), started_at=started.isoformat(), **fields)
        self.ids[name], self.retros[name] = resolved["id"], retro["id"]
        for n, text in enumerate(events):
            response = self.client.post(f"/api/v1/incidents/{resolved['id']}/timeline", headers=self.auth, json={
                "occurred_at": (started + timedelta(minutes=n + 1)).isoformat(), "text": text})
            assert response.status_code == 201, response.get_json()
        for key, body in (sections or {}).items():
            response = self.client.put(f"/api/v1/retrospectives/{retro['id']}/sections/{key}", headers=self.auth,
                                       json={"body": body, "version": 1})
            assert response.status_code == 200, response.get_json()
        for title, description in items:
            response = self.client.post(f"/api/v1/retrospectives/{retro['id']}/action-items", headers=self.auth, json={
                "title": title, "description": description, "owner": "admin@example.com", "due_date": DUE})
            assert response.status_code == 201, response.get_json()
        return resolved


@pytest.fixture
def corpus(factory, client, auth, admin) -> Corpus:  # type: ignore[no-untyped-def]
    made = Corpus(factory, client, auth)
    _rita, made.rita = factory.user(email="rita@example.com", name="Rita Responder")  # the private one's commander
    made.incident(
        "failover", title="Database failover failed", severity="SEV0",
        description="The primary database failover stalled, and the second failover was retried by hand.",
        events=("Paged the database on-call", "Manual failover completed"),
        sections={"contributing_factors": "The failover script waited on a lock that the backup job held."},
        items=(("Test the failover every month", "A game day for the failover of the primary."),),
        started=START)
    made.incident(
        "checkout", title="Checkout errors after a deploy", severity="SEV1",
        description="Payments timed out for twenty minutes after version 42 was deployed; a cache failover helped.",
        events=("Deploy of version 42 started", "Rolled back the deploy"),
        items=(("Add a canary stage to deploys", ""),),
        started=START + timedelta(days=20))
    made.incident(
        "payroll", title="Payroll export failover", severity="SEV1", visibility="private",
        description="Salaries of the finance team were visible after the failover.",
        commander="rita@example.com", events=("Secret payroll failover began",),
        started=START + timedelta(days=40))
    return made
