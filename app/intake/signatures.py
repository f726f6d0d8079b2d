"""The three senders' webhook signatures, checked in constant time; anything else is 401.

- PagerDuty v3: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of the raw body; during a
  secret rotation several signatures come, and any one matching is enough.
- Rootly: `X-Rootly-Signature: t=<unix seconds>,v1=<hex>`, HMAC-SHA256 of the timestamp followed by
  the raw body.
- incident.io (Svix): `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>[ v1,<base64>…]`,
  HMAC-SHA256 of `id.timestamp.body` keyed with the base64-decoded part of the secret after `whsec_`.

Signed timestamps (Rootly, incident.io) more than `MAX_SKEW` from now are refused: a captured
delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta

from app.core.errors import Unauthorized

MAX_SKEW = timedelta(minutes=5)
MAX_SIGNATURES = 10


def _refused(sender: str, setting: str) -> Unauthorized:
    return Unauthorized(f"The {sender} webhook is refused: no webhook secret is configured ({setting}).",
                        code="webhook_refused")


def _mismatch() -> Unauthorized:
    return Unauthorized("The webhook's signature does not match the configured secret.", code="invalid_signature")


def _hmac_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _any_matches(given: list[str], expected: str) -> bool:
    # Every candidate is compared, so the time taken does not tell which one matched.
    matched = False
    for candidate in given[:MAX_SIGNATURES]:
        matched |= hmac.compare_digest(candidate.encode(), expected.encode())
    return matched


def _fresh(timestamp: str, now: datetime) -> None:
    try:
        seconds = int(timestamp)
        signed_at = datetime.fromtimestamp(seconds, tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        raise Unauthorized("The webhook's signature timestamp is not a Unix time.", code="invalid_signature") from None
    if abs(now - signed_at) > MAX_SKEW:
        raise Unauthorized("The webhook was signed more than 5 minutes ago (or ahead): a replay is refused.",
                           code="stale_signature")


def verify_pagerduty(*, secret: str, header: str | None, body: bytes) -> None:
    """Accept if any `v1=` signature in the header is the HMAC of `body` with `secret`."""
    if not secret:
        raise _refused("PagerDuty", "HINDSIGHT_PAGERDUTY_WEBHOOK_SECRET")
    given = [part.strip()[3:].lower() for part in (header or "").split(",") if part.strip().startswith("v1=")]
    if not given or not _any_matches(given, _hmac_hex(secret.encode(), body)):
        raise _mismatch()


def verify_rootly(*, secret: str, header: str | None, body: bytes, now: datetime) -> None:
    """Accept a fresh `t=` whose `v1=` is the HMAC of `t` + `body`."""
    if not secret:
        raise _refused("Rootly", "HINDSIGHT_ROOTLY_WEBHOOK_SECRET")
    timestamp, given = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and timestamp is None:
            timestamp = value.strip()
        elif key == "v1":
            given.append(value.strip().lower())
    if timestamp is None or not given:
        raise _mismatch()
    if not _any_matches(given, _hmac_hex(secret.encode(), timestamp.encode() + body)):
        raise _mismatch()
    _fresh(timestamp, now)


def _svix_key(secret: str) -> bytes:
    encoded = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # A secret that is not base64 cannot be what incident.io gave: it is used as it is written.
        return secret.encode()


def verify_incidentio(
    *, secret: str, message_id: str | None, timestamp: str | None, header: str | None, body: bytes, now: datetime,
) -> None:
    """Accept a fresh `webhook-timestamp` with a `v1,` signature of `id.timestamp.body` (Svix's scheme)."""
    if not secret:
        raise _refused("incident.io", "HINDSIGHT_INCIDENTIO_WEBHOOK_SECRET")
    if not message_id or not timestamp or not header:
        raise _mismatch()
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(_svix_key(secret), signed, hashlib.sha256).digest()).decode()
    given = [part[3:] for part in header.split() if part.startswith("v1,")]
    if not given or not _any_matches(given, expected):
        raise _mismatch()
    _fresh(timestamp, now)
