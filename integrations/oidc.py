"""OpenID Connect sign-in through Authlib's Flask client: the one interface to the identity provider.

Discovery from the issuer URL (cached, `metadata_cache_seconds`); the authorization code flow with
PKCE (S256), `state` and `nonce`, kept between the two legs in the browser's signed Flask session
by Authlib; the ID token's signature checked against the provider's JWKS (a key id not seen yet
reads the JWKS again, once: the provider rotated its keys) and its `iss`, `aud`, `exp` and `nonce`.

Plain data out (`Identity`), never imports `app`. Every call to the provider has connect and read
timeouts; every failure raises `OidcError` naming the step that failed (`OidcFailure`).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth, OAuthError
from authlib.integrations.base_client import MismatchingStateError
from flask import Flask, Response, request, session
from joserfc.errors import JoseError

CLIENT_NAME = "oidc"
STATE_PREFIX = f"_state_{CLIENT_NAME}_"  # Authlib's key of a started sign-in in the Flask session
# Clock difference allowed between the provider and Hindsight when checking `exp` and `iat`.
LEEWAY_SECONDS = 60
# Errors an authorization endpoint answers with when the trouble is on its side, not the user's.
PROVIDER_TROUBLE = {"server_error", "temporarily_unavailable"}


@dataclass(frozen=True)
class OidcConfig:
    """The provider and the client Hindsight is registered as. No secret = a public client (PKCE only)."""

    issuer: str
    client_id: str
    client_secret: str = ""
    scopes: str = "openid email profile"
    groups_claim: str = "groups"
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 10.0
    metadata_cache_seconds: float = 3600.0

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


class OidcFailure(enum.Enum):
    """Which step of the sign-in failed."""

    UNREACHABLE = "unreachable"  # the provider did not answer, or answered something unusable
    DENIED = "denied"  # the provider sent the user back with an error (consent refused, login failed)
    STATE = "state"  # the answer belongs to no sign-in started in this browser (replayed, expired)
    REFUSED = "refused"  # the token endpoint refused the authorization code
    TOKEN = "token"  # the ID token is missing or failed verification


class OidcError(Exception):
    """The sign-in through the provider failed; `failure` says where, the message says what."""

    def __init__(self, failure: OidcFailure, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.failure = failure
        self.error = error  # the provider's OAuth error code, when it sent one (e.g. access_denied)


@dataclass(frozen=True)
class Identity:
    """Who the verified ID token says signed in."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    groups: tuple[str, ...]


class OidcClient:
    """The provider, for one Flask app (Authlib keeps its registry on the app's `OAuth`)."""

    def __init__(self, app: Flask, config: OidcConfig) -> None:
        self.config = config
        client_kwargs: dict[str, Any] = {
            "scope": config.scopes,
            "code_challenge_method": "S256",
            "default_timeout": (config.connect_timeout_seconds, config.read_timeout_seconds),
        }
        if not config.client_secret:
            client_kwargs["token_endpoint_auth_method"] = "none"
        self._remote = OAuth(app).register(
            CLIENT_NAME, client_id=config.client_id, client_secret=config.client_secret or None,
            server_metadata_url=config.discovery_url, client_kwargs=client_kwargs,
        )

    def start(self, redirect_uri: str) -> Response:
        """The redirect to the provider's authorization endpoint; the flow's secrets go in the Flask session."""
        self._metadata()
        # Only the latest sign-in started in this browser can finish: the flow's secrets live in the
        # session cookie, which must not grow with every click on the button.
        for key in [key for key in session if key.startswith(STATE_PREFIX)]:
            session.pop(key)
        try:
            return self._remote.authorize_redirect(redirect_uri)
        except requests.RequestException as exc:
            raise OidcError(OidcFailure.UNREACHABLE, f"could not reach the provider: {type(exc).__name__}") from None

    def finish(self) -> Identity:
        """The identity of the provider's answer on the callback (this request): code exchanged, ID token verified."""
        error = request.args.get("error")
        if error:
            description = request.args.get("error_description") or error
            failure = OidcFailure.UNREACHABLE if error in PROVIDER_TROUBLE else OidcFailure.DENIED
            raise OidcError(failure, f"the provider answered {error}: {description}", error=error)
        if not request.args.get("code"):
            raise OidcError(OidcFailure.DENIED, "the provider's answer has no authorization code")
        metadata = self._metadata()
        claims_options = {
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "values": [self.config.client_id]},
            "sub": {"essential": True},
        }
        try:
            token = self._remote.authorize_access_token(claims_options=claims_options, leeway=LEEWAY_SECONDS)
        except MismatchingStateError:
            raise OidcError(OidcFailure.STATE, "no sign-in with this state was started in this browser") from None
        except OAuthError as exc:
            raise OidcError(OidcFailure.REFUSED, f"the token endpoint answered {exc.error}: {exc.description}",
                            error=exc.error) from None
        except requests.RequestException as exc:
            raise OidcError(OidcFailure.UNREACHABLE, f"could not reach the provider: {type(exc).__name__}") from None
        except (JoseError, AuthlibBaseError, ValueError, TypeError, KeyError) as exc:
            raise OidcError(OidcFailure.TOKEN, f"the ID token is not valid: {type(exc).__name__} {exc}") from None
        claims = token.get("userinfo")
        if not claims:
            raise OidcError(OidcFailure.TOKEN, "the provider sent no ID token")
        return self._identity(claims)

    def _metadata(self) -> dict[str, Any]:
        """The discovery document, read at most every `metadata_cache_seconds`; checked before use."""
        loaded_at = self._remote.server_metadata.get("_loaded_at")
        if loaded_at is not None and time.time() - loaded_at >= self.config.metadata_cache_seconds:
            self._remote.server_metadata = {}
        try:
            metadata = self._remote.load_server_metadata()
        except (requests.RequestException, TypeError) as exc:  # TypeError: JSON that is not an object
            raise OidcError(OidcFailure.UNREACHABLE,
                            f"could not read {self.config.discovery_url}: {type(exc).__name__}") from None
        problem = _metadata_problem(metadata, self.config.issuer)
        if problem:
            self._remote.server_metadata = {}  # read it again next time: it may be fixed by then
            raise OidcError(OidcFailure.UNREACHABLE, f"{self.config.discovery_url}: {problem}")
        return metadata

    def _identity(self, claims: dict[str, Any]) -> Identity:
        email = claims.get("email")
        email = email.strip().lower() if isinstance(email, str) and email.strip() else None
        return Identity(
            issuer=str(claims["iss"]), subject=str(claims["sub"]), email=email,
            # Some providers send the boolean as text.
            email_verified=claims.get("email_verified") in (True, "true"),
            name=_name(claims), groups=_groups(claims.get(self.config.groups_claim)),
        )


def _metadata_problem(metadata: dict[str, Any], issuer: str) -> str | None:
    if not isinstance(metadata, dict):
        return "not a JSON object"
    named = metadata.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        return f"names the issuer {named!r}, not {issuer!r} (check oidc.issuer)"
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            return f"has no {key}"
    return None


def _name(claims: dict[str, Any]) -> str | None:
    for candidate in (
        claims.get("name"),
        " ".join(str(claims[part]) for part in ("given_name", "family_name") if claims.get(part)),
        claims.get("preferred_username"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return " ".join(candidate.split())
    return None


def _groups(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()
