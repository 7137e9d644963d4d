"""Staff login with the city's OpenID provider (OpenID Connect; Keycloak in openDesk), as an Authlib client.

Rules:
- On only when ``OIDC_ISSUER`` is set; the provider's endpoints come from its discovery document
  (fetched on the first login, never in ``create_app``).
- Authorisation code flow with PKCE (S256), ``state`` and ``nonce`` (Authlib keeps them in the
  session and checks them, and the ID token's signature, issuer, audience and expiry).
- An account is found by issuer + the stable subject (``sub``), never by e-mail or name alone: the
  first login creates an account (username from ``preferred_username``, made unique); an existing
  local account is linked only explicitly (``flask users link-oidc``).
- Roles come from the claim ``OIDC_ROLES_CLAIM`` mapped by ``OIDC_ROLE_MAP`` at every login (the
  provider is the source of truth); no mapped role: no login, no account created.
- Logout ends the local session and then the provider's (RP-initiated logout with ``id_token_hint``
  and ``post_logout_redirect_uri``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from citizen_portal.core import locks
from citizen_portal.core.access import ROLES
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import Forbidden
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import User

CLIENT = "city"
_NOT_USERNAME = re.compile(r"[^a-z0-9._-]+")


def enabled() -> bool:
    return bool(current_app.config["OIDC_ISSUER"])


def init_app(app: Flask) -> None:
    """Register the provider as an Authlib client of this app (no network: discovery is lazy)."""
    if not app.config["OIDC_ISSUER"]:
        return
    role_map(app.config["OIDC_ROLE_MAP"])  # a bad map stops the start
    oauth = OAuth(app)
    oauth.register(
        CLIENT, client_id=app.config["OIDC_CLIENT_ID"], client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": app.config["OIDC_SCOPES"], "code_challenge_method": "S256", "timeout": 10})
    app.extensions["portal_oidc"] = oauth


def client() -> Any:
    return current_app.extensions["portal_oidc"].create_client(CLIENT)


def role_map(setting: str) -> dict[str, str]:
    """``OIDC_ROLE_MAP`` parsed: claim value (without a leading ``/``) → platform role."""
    mapping = {}
    for pair in setting.split(","):
        if not pair.strip():
            continue
        value, separator, role = pair.partition("=")
        if not separator or role.strip() not in ROLES or not value.strip():
            raise ValueError(f"OIDC_ROLE_MAP: {pair.strip()!r} is not value=role with a role of {', '.join(ROLES)}")
        mapping[value.strip().lstrip("/")] = role.strip()
    return mapping


def mapped_roles(claims: dict[str, Any], claim: str, mapping: dict[str, str]) -> list[str]:
    """The platform roles the claim's values map to (a string or a list of strings), in ``ROLES`` order."""
    raw = claims.get(claim) or []
    values: Iterable[str] = [raw] if isinstance(raw, str) else [str(item) for item in raw]
    granted = {mapping[value.lstrip("/")] for value in values if value.lstrip("/") in mapping}
    return [role for role in ROLES if role in granted]


def _username_for(claims: dict[str, Any], subject: str) -> str:
    wanted = _NOT_USERNAME.sub("-", str(claims.get("preferred_username") or "").lower()).strip("-.")[:50]
    base = wanted or "sso"
    if db.session.query(User.id).filter(User.username == base).first() is None:
        return base
    return f"{base}-{hashlib.sha256(subject.encode()).hexdigest()[:8]}"


def login_from_claims(issuer: str, claims: dict[str, Any], roles: list[str]) -> User:
    """The account of issuer + ``claims["sub"]`` with ``roles``, created on the first login; see the rules.
    ``Forbidden`` without a role or for a deactivated account."""
    subject = str(claims.get("sub") or "")
    if not subject or not roles:
        raise Forbidden(_l("Ihr Konto beim Identitätsdienst hat keine Rolle in diesem Portal."))
    with write_transaction(locks.users()):
        user = db.session.query(User).filter(User.oidc_issuer == issuer, User.oidc_subject == subject).first()
        if user is None:
            user = User(username=_username_for(claims, subject), oidc_issuer=issuer, oidc_subject=subject,
                        password_hash=None, active=True)
            db.session.add(user)
        if not user.active:
            raise Forbidden(_l("Dieses Konto ist gesperrt."))
        user.display_name = str(claims.get("name") or user.display_name or user.username)[:200]
        user.email = (str(claims["email"])[:254] if claims.get("email") else user.email)
        user.roles = ",".join(roles)
        user.last_login_at = utcnow()
    return user


def link_account(username: str, issuer: str, subject: str) -> User:
    """Link an existing (local) account to issuer + subject: an administrator's explicit decision."""
    from citizen_portal.core.errors import Conflict, NotFound

    with write_transaction(locks.users()):
        user = db.session.query(User).filter(User.username == username).first()
        if user is None:
            raise NotFound()
        other = db.session.query(User).filter(User.oidc_issuer == issuer, User.oidc_subject == subject).first()
        if other is not None and other.id != user.id:
            raise Conflict(_l("Dieses Konto des Identitätsdienstes ist schon verknüpft."), code="linked")
        user.oidc_issuer, user.oidc_subject = issuer, subject
    return user
