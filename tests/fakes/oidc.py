"""A loopback OpenID provider built on Authlib's provider side (its Flask `AuthorizationServer`, the
authorization code grant with PKCE and the `OpenIDCode` extension), for Hindsight's sign-in to talk to.

It serves discovery (`/.well-known/openid-configuration`), the JWKS (`/jwks`), the authorization
endpoint (`/authorize`, which consents at once as `provider.user`, or answers `access_denied` when
`provider.deny` is set) and the token endpoint (`/token`). Switches make its ID tokens go wrong in
one way each: `audience`, `expires_in`, `nonce`, `rogue_key` (signed by a key not published under
the key id the token names); `rotate_keys()` starts signing with a new key and publishes only that one.
`down` makes every endpoint answer 503; `delay` makes each answer wait.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Error, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

from tests.fakes import on_preferred_port

CLIENT_ID = "hindsight"
CLIENT_SECRET = "hindsight-client-secret"


@dataclass
class ProviderUser:
    """An account at the provider: what its ID tokens say about it."""

    sub: str
    email: str
    name: str = "Casey Example"
    email_verified: bool = True
    groups: list[str] = field(default_factory=list)


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(part for part in (scope or "").split() if part in {"openid", "email", "profile", "groups"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic" if self.client_secret else method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class _Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: ProviderUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class OidcProvider:
    """The provider on loopback; `issuer` is its URL. Register redirect URIs with `redirect_uris`."""

    def __init__(self, *, port: int = 0, redirect_uris: list[str] | None = None) -> None:
        self.redirect_uris = list(redirect_uris or [])
        self._key_number = 0
        self.key = self._new_key()
        self.published: list[RSAKey] = []
        self.reset()
        self._server = make_server("127.0.0.1", port, self._app(), threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @classmethod
    def start(cls, redirect_uris: list[str] | None = None) -> OidcProvider:
        """A provider on the session's port for it, so apps configured for it are reused across tests."""
        return on_preferred_port("oidc", lambda port: cls(port=port, redirect_uris=redirect_uris))

    def reset(self) -> None:
        """Every switch off, no user, nothing counted; the key it signs with stays, and is published."""
        self.published = [self.key]
        self.user: ProviderUser | None = None
        self.deny = False
        self.down = False
        self.delay = 0.0  # seconds each answer waits
        self.discovery_issuer: str | None = None  # another issuer named by the discovery document
        self.on_request: Callable[[str], None] | None = None  # called with each request's path
        self.audience: str | None = None
        self.expires_in = 3600
        self.nonce: str | None = None
        self.rogue_key = False
        self.client_secret = CLIENT_SECRET
        self.codes: dict[str, _Code] = {}
        self.requests: list[str] = []  # the path of every request, in order
        self.authorize_params: list[dict[str, str]] = []

    def count(self, path: str) -> int:
        """How many requests `path` (e.g. "/jwks") got."""
        return sum(1 for seen in self.requests if seen == path)

    def rotate_keys(self) -> RSAKey:
        """Sign with a new key from now on and publish only that one (the old one is retired)."""
        self.key = self._new_key()
        self.published = [self.key]
        return self.key

    def consent(self, authorize_url: str) -> str:
        """Follow Hindsight's redirect to the authorization endpoint as the browser would; the callback URL."""
        response = requests.get(authorize_url, allow_redirects=False, timeout=(5, 10))
        assert response.status_code == 302, (response.status_code, response.text)
        return response.headers["Location"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # The provider's side

    def _new_key(self) -> RSAKey:
        self._key_number += 1
        return RSAKey.generate_key(2048, parameters={"kid": f"key-{self._key_number}", "use": "sig", "alg": "RS256"})

    def _app(self) -> Flask:
        provider = self
        app = Flask("fake_oidc_provider")
        server = AuthorizationServer(app, query_client=self._query_client, save_token=lambda token, req: None)
        grant = type("CodeGrant", (_CodeGrant,), {"provider": provider})
        server.register_grant(grant, [CodeChallenge(required=True), _IdTokens(provider)])

        @app.before_request
        def _note():  # type: ignore[no-untyped-def]
            provider.requests.append(request.path)
            if provider.on_request is not None:
                provider.on_request(request.path)
            if provider.delay:
                time.sleep(provider.delay)
            if provider.down:
                return jsonify({"error": "temporarily_unavailable"}), 503
            return None

        @app.get("/.well-known/openid-configuration")
        def discovery():  # type: ignore[no-untyped-def]
            return jsonify({
                "issuer": provider.discovery_issuer or provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/authorize",
                "token_endpoint": f"{provider.issuer}/token",
                "jwks_uri": f"{provider.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile", "groups"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified",
                                     "name", "groups"],
            })

        @app.get("/jwks")
        def jwks():  # type: ignore[no-untyped-def]
            return jsonify({"keys": [key.as_dict(private=False) for key in provider.published]})

        @app.get("/authorize")
        def authorize():  # type: ignore[no-untyped-def]
            provider.authorize_params.append(request.args.to_dict())
            user = None if provider.deny else provider.user
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:  # a request the provider refuses outright (unknown client, redirect URI)
                return server.handle_error_response(None, error)
            return server.create_authorization_response(grant_user=user, grant=grant)

        @app.post("/token")
        def token():  # type: ignore[no-untyped-def]
            return server.create_token_response()

        return app

    def _query_client(self, client_id: str) -> _Client | None:
        if client_id != CLIENT_ID:
            return None
        return _Client(CLIENT_ID, self.client_secret, self.redirect_uris)


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "none"]
    provider: OidcProvider

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.provider.codes[code] = _Code(
            code=code, client_id=request.client.get_client_id(), redirect_uri=request.payload.redirect_uri,
            scope=request.scope, user=request.user, nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
        found = self.provider.codes.get(code)
        return found if found is not None and found.client_id == client.get_client_id() else None

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: _Code) -> ProviderUser:
        return authorization_code.user


class _IdTokens(OpenIDCode):
    """How the provider writes its ID tokens, switches included."""

    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return any(code.nonce == nonce for code in self.provider.codes.values())

    def resolve_client_private_key(self, client: _Client) -> RSAKey:
        if self.provider.rogue_key:
            # The published key id on a key nobody published: the signature cannot be verified.
            return RSAKey.generate_key(2048, parameters={"kid": self.provider.key.kid})
        return self.provider.key

    def get_client_algorithm(self, client: _Client) -> str:
        return "RS256"

    def get_encode_header(self, client: _Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.key.kid or ""}

    def get_client_claims(self, client: _Client) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.provider.issuer, "aud": [self.provider.audience or client.get_client_id()],
                                  "iat": min(now, now + self.provider.expires_in - 60), "exp": now + self.provider.expires_in}
        if self.provider.audience:
            claims["azp"] = client.get_client_id()  # the audience alone must decide
        return claims

    def get_authorization_code_claims(self, authorization_code: _Code) -> dict[str, Any]:
        claims = super().get_authorization_code_claims(authorization_code)
        if self.provider.nonce is not None:
            claims["nonce"] = self.provider.nonce
        return claims

    def generate_user_info(self, user: ProviderUser, scope: str) -> UserInfo:
        info = UserInfo(sub=user.sub, name=user.name)
        if "email" in scope.split():
            info["email"] = user.email
            info["email_verified"] = user.email_verified
        info["groups"] = list(user.groups)
        return info


def callback_path(location: str) -> str:
    """The path and query of the provider's redirect back to Hindsight, for a test client."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def callback_params(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
