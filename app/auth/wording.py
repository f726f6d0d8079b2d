"""The auth domain in words, for the admin and account pages: audit kinds, token scopes, refusals."""

from __future__ import annotations

from app.auth.models import ApiToken, AuditKind, TokenScope
from app.core.wording import says

KIND_WORDS = {
    AuditKind.SIGN_IN: "Signed in",
    AuditKind.SIGN_IN_FAILED: "Failed sign-in",
    AuditKind.SIGN_OUT: "Signed out",
    AuditKind.SIGN_OUT_EVERYWHERE: "Signed out everywhere",
    AuditKind.TOKEN_CREATED: "Created an API token",
    AuditKind.TOKEN_REVOKED: "Revoked an API token",
    AuditKind.USER_DISABLED: "Disabled a user",
    AuditKind.USER_ENABLED: "Enabled a user",
    AuditKind.ADMIN_GRANTED: "Made an admin",
    AuditKind.ADMIN_REMOVED: "Removed an admin",
    AuditKind.PERSON_CHANGED: "Changed a person",
}

SCOPE_WORDS = {
    TokenScope.READ: "Read: look only",
    TokenScope.WRITE: "Write: look and change, but no admin work",
    TokenScope.ADMIN: "Admin: everything an admin can do",
}

SCOPE_NAMES = {TokenScope.READ: "Read", TokenScope.WRITE: "Write", TokenScope.ADMIN: "Admin"}

# What to do about each field of the token form the service refuses.
TOKEN_FIELD_HELP = {
    "name": "Give the token a name of at most 100 characters: what it is for, like “Deploy pipeline”.",
    "scope": "Pick a scope: read or write (admin only for an admin's token).",
    "expires": "Pick one of the expiries offered.",
    "expires_at": "Pick one of the expiries offered.",
}

says("last_admin", "That would leave no enabled admin: make someone else an admin first.")
says("admin_scope", "Only an admin's token can have the admin scope: choose read or write.")


def token_label(token: ApiToken) -> str:
    """A token as the audit log and flash messages name it: its name, prefix and owner."""
    return f"“{token.name}” ({token.prefix}…) of {token.user.person.name}"
