"""PagerDuty's REST API, the one call intake needs: a user's email by their id (`GET /users/{id}`).

Plain data in and out, never imports `app`. Every request has connect and read timeouts; a failure
raises `PagerDutyError` (the caller keeps the agent's name and tries again on a later event).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import requests


@dataclass(frozen=True)
class PagerDutyConfig:
    """Where and how to ask. `token` is a REST API key (read-only is enough)."""

    token: str
    url: str = "https://api.pagerduty.com"
    timeout_seconds: float = 5.0

    @property
    def enabled(self) -> bool:
        return bool(self.token)


class PagerDutyError(Exception):
    """PagerDuty did not answer with the user (unreachable, timed out, refused the token, 5xx)."""


def user_email(config: PagerDutyConfig, user_id: str) -> str | None:
    """The email of the PagerDuty user `user_id`; None if PagerDuty has no such user (404)."""
    try:
        response = requests.get(
            f"{config.url.rstrip('/')}/users/{quote(user_id, safe='')}",
            headers={"Authorization": f"Token token={config.token}",
                     "Accept": "application/vnd.pagerduty+json;version=2"},
            timeout=(config.timeout_seconds, config.timeout_seconds),
        )
    except requests.RequestException as exc:
        raise PagerDutyError(f"PagerDuty could not be reached: {type(exc).__name__}") from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise PagerDutyError(f"PagerDuty answered {response.status_code} to GET /users/{user_id}")
    try:
        email = response.json()["user"]["email"]
    except (ValueError, KeyError, TypeError):
        raise PagerDutyError("PagerDuty's answer to GET /users/{id} has no user email") from None
    return email.strip().lower() if isinstance(email, str) and email.strip() else None
