"""API clients (software, not people), OAuth 2.0 client credentials and the ``Principal`` behind a request.

Rules:
- A client has a ``client_id`` (``cli_…``, public) and a secret (``cs_…``) shown once when created or
  rotated; only the secret's SHA-256 is stored. Rotating replaces the secret and ends every access
  token issued before; revoking ends the client and its tokens for good.
- ``issue_token`` (``POST /oauth/token``, RFC 6749 §4.4): the client authenticates with id and secret;
  the token gets the requested scopes, which must be a subset of the client's (none requested: all of
  them); an access token is ``cat_`` + 32 random bytes, stored as SHA-256, valid ``OAUTH_TOKEN_SECONDS``.
- A ``Principal`` is who calls the API: a person (a personal token ``cpt_…`` or a staff session; the
  scopes of the person's roles) or a client (an access token; the token's scopes, never more than the
  client holds now). A client restricted to locations or staff members sees only those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from citizen_portal.core import locks
from citizen_portal.core.api_tokens import TOKEN_PREFIX as PERSONAL_TOKEN_PREFIX
from citizen_portal.core.api_tokens import user_for_token
from citizen_portal.core.database import utcnow, write_transaction
from citizen_portal.core.errors import DomainError, Invalid, NotFound
from citizen_portal.core.extensions import db
from citizen_portal.core.i18n import _l
from citizen_portal.core.models import ApiAccessToken, ApiClient, User, WebhookSubscription
from citizen_portal.core.scopes import expand, scopes_for_roles, unknown_scopes
from citizen_portal.core.security import new_token, same, token_hash

CLIENT_ID_PREFIX = "cli_"
SECRET_PREFIX = "cs_"
ACCESS_TOKEN_PREFIX = "cat_"


# --------------------------------------------------------------------------- the caller


@dataclass(frozen=True)
class Principal:
    """Who calls: ``kind`` "user" (``user_id``, ``username``) or "client" (``client_id``, the row id).
    ``location_ids`` / ``staff_usernames``: ``None`` means no restriction."""

    kind: str
    scopes: frozenset[str]
    user_id: int | None = None
    username: str | None = None
    client_id: int | None = None
    name: str = ""
    location_ids: frozenset[int] | None = None
    staff_usernames: frozenset[str] | None = None
    user: User | None = field(default=None, compare=False, repr=False)  # the person, loaded with her token

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def sees_location(self, location_id: int | None) -> bool:
        return self.location_ids is None or location_id in self.location_ids

    def sees_staff(self, username: str | None) -> bool:
        return self.staff_usernames is None or username in self.staff_usernames

    @property
    def key(self) -> str:
        """Stable per caller (idempotency keys, rate limits): ``user:<id>`` or ``client:<id>``."""
        return f"user:{self.user_id}" if self.kind == "user" else f"client:{self.client_id}"


def user_principal(user: User) -> Principal:
    """A person: the scopes of her roles, no restriction beyond what the roles' rules decide."""
    return Principal("user", scopes_for_roles(user.role_list), user_id=user.id, username=user.username,
                     name=user.username, user=user)


def client_principal(client: ApiClient, granted: Iterable[str]) -> Principal:
    held = expand(client.scopes or ())
    return Principal(
        "client", frozenset(scope for scope in expand(granted) if scope in held), client_id=client.id,
        name=client.name,
        location_ids=None if client.location_ids is None else frozenset(client.location_ids),
        staff_usernames=None if client.staff_usernames is None else frozenset(client.staff_usernames),
    )


def principal_for_token(token: str, now: datetime | None = None) -> Principal | None:
    """The principal of a bearer token: a person's API token or a client's unexpired access token of a
    client that is not revoked; ``None`` for anything else."""
    if token.startswith(PERSONAL_TOKEN_PREFIX):
        user = user_for_token(token)
        return user_principal(user) if user is not None else None
    if not token.startswith(ACCESS_TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ApiAccessToken).where(ApiAccessToken.token_hash == token_hash(token)))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    client = db.session.get(ApiClient, row.client_id)
    if client is None or client.revoked_at is not None:
        return None
    return client_principal(client, row.scopes)


# --------------------------------------------------------------------------- managing clients


@dataclass(frozen=True)
class ClientSecret:
    """What is shown once: the client's id and its new secret."""

    client: ApiClient
    client_id: str
    client_secret: str


def _checked_scopes(scopes: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(scope.strip() for scope in scopes if scope.strip()))
    unknown = unknown_scopes(names)
    if not names or unknown:
        message = (_l("Unbekannte Berechtigung: %(names)s", names=", ".join(unknown)) if unknown
                   else _l("Bitte wählen Sie mindestens eine Berechtigung."))
        raise Invalid(fields={"scopes": message})
    return names


def _checked_staff(usernames: Iterable[str] | None) -> list[str] | None:
    if usernames is None:
        return None
    names = sorted({name.strip().lower() for name in usernames if name.strip()})
    if not names:
        return None
    known = set(db.session.scalars(select(User.username).where(User.username.in_(names))))
    missing = [name for name in names if name not in known]
    if missing:
        raise Invalid(fields={"staff": _l("Unbekannte Mitarbeitende: %(names)s", names=", ".join(missing))})
    return names


def create_client(name: str, scopes: Iterable[str], *, location_ids: Iterable[int] | None = None,
                  staff_usernames: Iterable[str] | None = None) -> ClientSecret:
    """Create a client holding ``scopes`` (names of the registry), optionally restricted to locations
    (ids) and staff members (usernames, which must exist). Returns the secret (shown once)."""
    clean_name = " ".join(name.split())[:100]
    fields = {}
    if not clean_name:
        fields["name"] = _l("Bitte geben Sie einen Namen ein.")
    try:
        checked = _checked_scopes(scopes)
    except Invalid as exc:
        fields.update(exc.fields)
        checked = []
    try:
        staff = _checked_staff(staff_usernames)
    except Invalid as exc:
        fields.update(exc.fields)
        staff = None
    if fields:
        raise Invalid(fields=fields)
    locations = sorted({int(value) for value in location_ids}) if location_ids else None
    client_id = new_token(12, CLIENT_ID_PREFIX)
    secret = new_token(32, SECRET_PREFIX)
    with write_transaction(locks.users()):
        client = ApiClient(client_id=client_id, name=clean_name, secret_hash=token_hash(secret), scopes=checked,
                           location_ids=locations or None, staff_usernames=staff)
        db.session.add(client)
    return ClientSecret(client, client_id, secret)


def get_client(client_row_id: int) -> ApiClient:
    client = db.session.get(ApiClient, client_row_id)
    if client is None:
        raise NotFound()
    return client


def find_client(client_id: str) -> ApiClient:
    """A client by its public ``client_id`` (or its row id given as digits, for the CLI)."""
    column = ApiClient.id if client_id.isdigit() else ApiClient.client_id
    value = int(client_id) if client_id.isdigit() else client_id
    client = db.session.scalar(select(ApiClient).where(column == value))
    if client is None:
        raise NotFound()
    return client


def list_clients() -> list[ApiClient]:
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.revoked_at.is_not(None), ApiClient.name,
                                                              ApiClient.id)))


def rotate_secret(client_row_id: int) -> ClientSecret:
    """A new secret for an active client; the old one and every access token issued with it stop working."""
    secret = new_token(32, SECRET_PREFIX)
    with write_transaction(locks.users()):
        client = get_client(client_row_id)
        if client.revoked_at is not None:
            raise Invalid(_l("Dieser Client ist widerrufen."), code="client_revoked")
        client.secret_hash = token_hash(secret)
        client.rotated_at = utcnow()
        db.session.execute(delete(ApiAccessToken).where(ApiAccessToken.client_id == client.id))
    return ClientSecret(client, client.client_id, secret)


def revoke_client(client_row_id: int) -> ApiClient:
    """End a client for good: its secret and tokens stop working, its webhooks are switched off."""
    with write_transaction(locks.users()):
        client = get_client(client_row_id)
        if client.revoked_at is None:
            client.revoked_at = utcnow()
        db.session.execute(delete(ApiAccessToken).where(ApiAccessToken.client_id == client.id))
        for subscription in db.session.scalars(select(WebhookSubscription)
                                               .where(WebhookSubscription.client_id == client.id)):
            subscription.active = False
    return client


# --------------------------------------------------------------------------- OAuth 2.0 token endpoint


class OAuthError(DomainError):
    """An error of the token endpoint, rendered as RFC 6749 §5.2 ``{"error", "error_description"}``."""

    status = 400
    code = "invalid_request"

    def to_json(self) -> dict:
        return {"error": self.code, "error_description": str(self.message)}


class InvalidClient(OAuthError):
    status = 401
    code = "invalid_client"
    default_message = _l("Client-ID oder Client-Secret ist falsch, oder der Client ist widerrufen.")


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scopes: list[str]

    def to_json(self) -> dict:
        return {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in,
                "scope": " ".join(self.scopes)}


def issue_token(grant_type: str | None, client_id: str | None, client_secret: str | None,
                requested: list[str] | None, now: datetime | None = None) -> IssuedToken:
    """Client credentials grant: check the grant type, the client and its secret (constant-time),
    then the scope subset; store the new token's hash. Expired tokens of the client are dropped."""
    if not grant_type:
        raise OAuthError(_l("Der Parameter grant_type fehlt."))
    if grant_type != "client_credentials":
        raise OAuthError(_l("Nur grant_type=client_credentials wird unterstützt."), code="unsupported_grant_type")
    if not client_id or not client_secret:
        raise InvalidClient()
    client = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.revoked_at is not None or not same(client.secret_hash, token_hash(client_secret)):
        raise InvalidClient()
    held = list(client.scopes or ())
    if requested:
        allowed = expand(held)
        refused = [scope for scope in requested if scope not in allowed]
        if refused:
            raise OAuthError(_l("Diese Berechtigungen hat der Client nicht: %(names)s", names=" ".join(refused)),
                             code="invalid_scope")
        granted = requested
    else:
        granted = held
    moment = now or utcnow()
    lifetime = int(current_app.config["OAUTH_TOKEN_SECONDS"])
    token = new_token(32, ACCESS_TOKEN_PREFIX)
    with write_transaction(locks.users()):
        db.session.execute(delete(ApiAccessToken).where(ApiAccessToken.client_id == client.id,
                                                        ApiAccessToken.expires_at <= moment))
        db.session.add(ApiAccessToken(client_id=client.id, token_hash=token_hash(token), scopes=granted,
                                      created_at=moment, expires_at=moment + timedelta(seconds=lifetime)))
        db.session.get(ApiClient, client.id).last_used_at = moment
    return IssuedToken(token, lifetime, granted)
