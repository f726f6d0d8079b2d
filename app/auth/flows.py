"""Sign-in work that reaches across domains: the user (and their person) an OpenID Connect sign-in is for."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import create_user, find_user, find_user_by_subject
from app.core.errors import Forbidden
from app.people.service import find_person, get_or_create_person
from config import OidcSettings
from integrations.oidc import Identity

NAME_LENGTH = 200
EMAIL_LENGTH = 320
ISSUER_LENGTH = 500
SUBJECT_LENGTH = 255


def user_for_identity(session: Session, *, identity: Identity, settings: OidcSettings) -> tuple[User, bool | None]:
    """The user a verified ID token signs in as, linked to the provider's account on first sign-in, and
    whether admin was just granted (True) or removed (False) by group membership (None: unchanged).

    Found by the provider's account (`iss` and `sub`), else by the token's email (only a verified
    one): the user with that email is linked, or created with their person (named from the token)
    if missing. Admin follows membership of `settings.admin_groups` at every sign-in, when set.

    Raises Forbidden, its code saying why, and changes nothing: `email_missing`, `email_unverified`,
    `domain_not_allowed`, `group_not_allowed`, `identity_too_long`, `linked_to_another_account` (the
    email's user signs in with another account of the provider), `user_disabled`.
    """
    email = identity.email
    if not email or "@" not in email or len(email) > EMAIL_LENGTH:
        raise Forbidden("The provider sent no usable email address.", code="email_missing")
    if not identity.email_verified:
        raise Forbidden(f"The provider has not verified {email}.", code="email_unverified")
    domain = email.rpartition("@")[2]
    if settings.allowed_domains and domain not in settings.allowed_domains:
        raise Forbidden(f"Emails of {domain} may not sign in.", code="domain_not_allowed")
    if settings.allowed_groups and not set(identity.groups) & set(settings.allowed_groups):
        raise Forbidden("The account is in none of the groups allowed to sign in.", code="group_not_allowed")
    if len(identity.issuer) > ISSUER_LENGTH or len(identity.subject) > SUBJECT_LENGTH:
        raise Forbidden("The provider's account id is longer than Hindsight keeps.", code="identity_too_long")

    user = find_user_by_subject(session, issuer=identity.issuer, subject=identity.subject)
    if user is None:
        user = find_user(session, email=email)
        # An email given to someone new at the provider must not open the old owner's account.
        if user is not None and user.oidc_subject is not None:
            raise Forbidden(f"The user {email} signs in with another account.", code="linked_to_another_account")
    if user is not None and user.is_disabled:
        raise Forbidden(f"The user {user.email} is disabled.", code="user_disabled")
    if user is None:
        if find_person(session, email) is None:
            get_or_create_person(session, email=email, name=(identity.name or "")[:NAME_LENGTH] or None)
        user = create_user(session, email=email)
    user.oidc_issuer = identity.issuer
    user.oidc_subject = identity.subject
    admin_change = None
    if settings.admin_groups:
        admin = bool(set(identity.groups) & set(settings.admin_groups))
        if admin != bool(user.is_admin):
            admin_change = admin
        user.is_admin = admin
    session.flush()
    return user, admin_change
